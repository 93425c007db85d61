"""Ids as people type them: a study or dataset id, a unique prefix of one (tables show the
first 12 characters), or `latest` for the newest study."""

from __future__ import annotations

from collections.abc import Sequence

from hpo_common.errors import InputError, NotFoundError
from knowledge_base import KnowledgeBase

LATEST = "latest"


def resolve_study_id(kb: KnowledgeBase, text: str) -> str:
    """The full id of the study `text` names: an id, a unique prefix, or "latest".

    Raises:
        NotFoundError: no study matches (or the knowledge base has none, for "latest").
        InputError: the prefix is empty or matches several studies.
    """
    ids = list(kb.studies()["id"])  # oldest first
    if text == LATEST:
        if not ids:
            raise NotFoundError(
                f"knowledge base {_where(kb)} has no studies yet; `hpo-recommend tune` starts one"
            )
        return str(ids[-1])
    return _unique(ids, text, "study", _where(kb), "hpo-recommend kb studies")


def resolve_dataset_id(kb: KnowledgeBase, text: str) -> str:
    """The full id of the dataset `text` names: an id or a unique prefix of one."""
    ids = list(kb.datasets()["id"])
    return _unique(ids, text, "dataset", _where(kb), "hpo-recommend kb datasets")


def _unique(ids: Sequence[str], text: str, what: str, where: str, listing: str) -> str:
    if text in ids:
        return text
    if not text.strip():
        raise InputError(f"a {what} id cannot be empty; `{listing}` lists them")
    matches = [i for i in ids if i.startswith(text)]
    if len(matches) == 1:
        return str(matches[0])
    if not matches:
        raise NotFoundError(f"no {what} id starts with {text!r} in knowledge base {where}; "
                            f"`{listing}` lists them")
    shown = ", ".join(m[:16] for m in matches[:5]) + (", ..." if len(matches) > 5 else "")
    raise InputError(f"{what} id prefix {text!r} matches {len(matches)} ids ({shown}); "
                     "give more characters")


def _where(kb: KnowledgeBase) -> str:
    return "(in memory)" if kb.path is None else str(kb.path)
