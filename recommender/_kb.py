"""Open the user's knowledge base, filling a brand-new one with the seed runs.

`suggest` must be useful on a fresh install, so a KB file created now first imports the seed
knowledge base that ships with the package (Parquet under recommender/data/seed_kb/), or the KB
export named by `$HPO_RECOMMEND_SEED_KB` (a team's own seed; empty: no seed).
"""

from __future__ import annotations

import os
from pathlib import Path

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase, read_manifest

SEED_KB_DIR = Path(__file__).parent / "data" / "seed_kb"
SEED_KB_ENV = "HPO_RECOMMEND_SEED_KB"


def seed_kb_dir() -> Path | None:
    """The KB export a new KB file starts from: `$HPO_RECOMMEND_SEED_KB` when set (None when
    set empty), else the shipped seed."""
    chosen = os.environ.get(SEED_KB_ENV)
    if chosen is None:
        return SEED_KB_DIR if read_manifest(SEED_KB_DIR) is not None else None
    if not chosen.strip():
        return None
    folder = Path(chosen).expanduser()
    if read_manifest(folder) is None:
        raise InputError(
            f"{SEED_KB_ENV}={chosen!r} is not a knowledge-base export (a folder with "
            "manifest.json, as `hpo-recommend kb export` writes); set it empty for no seed"
        )
    return folder


def open_kb(
    kb: str | Path | KnowledgeBase | None = None, *, with_seed: bool = True, create: bool = True
) -> KnowledgeBase:
    """The knowledge base at `kb` (default location when None); a new file gets the seed runs.

    With `create=False` a missing file is a `NotFoundError` instead of a new knowledge base.
    """
    if isinstance(kb, KnowledgeBase):
        return kb
    seed = seed_kb_dir() if with_seed else None  # a bad seed setting fails before any file
    store = KnowledgeBase(kb, create=create)
    is_new_file = store.migrated_from == 0 and store.path is not None
    if seed is not None and is_new_file:
        store.import_parquet(seed)
    return store


def cache_dir_of(kb: KnowledgeBase) -> Path | None:
    """Where fitted surrogates of this KB are cached (beside the file); None in memory."""
    return None if kb.path is None else kb.path.parent / f"{kb.path.stem}.cache"
