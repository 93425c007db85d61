"""Open the user's knowledge base, filling a brand-new one with the shipped seed runs.

`suggest` must be useful on a fresh install, so a KB file created now first imports the seed
knowledge base that ships with the package (Parquet under recommender/data/seed_kb/).
"""

from __future__ import annotations

from pathlib import Path

from knowledge_base import KnowledgeBase

SEED_KB_DIR = Path(__file__).parent / "data" / "seed_kb"


def open_kb(
    kb: str | Path | KnowledgeBase | None = None, *, with_seed: bool = True, create: bool = True
) -> KnowledgeBase:
    """The knowledge base at `kb` (default location when None); a new file gets the seed runs.

    With `create=False` a missing file is a `NotFoundError` instead of a new knowledge base.
    """
    if isinstance(kb, KnowledgeBase):
        return kb
    store = KnowledgeBase(kb, create=create)
    is_new_file = store.migrated_from == 0 and store.path is not None
    if with_seed and is_new_file and (SEED_KB_DIR / "manifest.json").exists():
        store.import_parquet(SEED_KB_DIR)
    return store


def cache_dir_of(kb: KnowledgeBase) -> Path | None:
    """Where fitted surrogates of this KB are cached (beside the file); None in memory."""
    return None if kb.path is None else kb.path.parent / f"{kb.path.stem}.cache"
