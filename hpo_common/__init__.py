"""Pieces every package of hpo-recommend shares: the exception tree and the version.

`training/` and `knowledge_base/` may not import each other nor `recommender/`, so the
one exception tree lives here, below all three.
"""

from __future__ import annotations

from hpo_common.errors import (
    ConfigError,
    DamagedKnowledgeBaseError,
    DataError,
    HPORecommendError,
    InputError,
    KnowledgeBaseError,
    NotFoundError,
    SchemaVersionError,
    SpaceError,
)
from hpo_common.version import library_version

__all__ = [
    "ConfigError",
    "DamagedKnowledgeBaseError",
    "DataError",
    "HPORecommendError",
    "InputError",
    "KnowledgeBaseError",
    "NotFoundError",
    "SchemaVersionError",
    "SpaceError",
    "library_version",
]
