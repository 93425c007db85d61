"""The DuckDB store of past experiments: datasets, meta-features, studies, runs and curves.

Knows nothing of torch, of training or of search: records are plain frozen dataclasses, and
queries return pandas DataFrames.
"""

from __future__ import annotations

from knowledge_base._paths import ENV_VAR, default_kb_path
from knowledge_base._records import (
    CurvePoint,
    DatasetRecord,
    RunRecord,
    StudyRecord,
    new_run_id,
    stable_run_id,
)
from knowledge_base._schema import (
    DIRECTIONS,
    HYPERPARAMETERS,
    LATEST_VERSION,
    METRICS,
    SCHEDULE_KEY,
    SOURCES,
    STATUSES,
    STOP_REASONS,
)
from knowledge_base._store import KnowledgeBase, read_manifest

__all__ = [
    "DIRECTIONS",
    "ENV_VAR",
    "HYPERPARAMETERS",
    "LATEST_VERSION",
    "METRICS",
    "SCHEDULE_KEY",
    "SOURCES",
    "STATUSES",
    "STOP_REASONS",
    "CurvePoint",
    "DatasetRecord",
    "KnowledgeBase",
    "RunRecord",
    "StudyRecord",
    "default_kb_path",
    "new_run_id",
    "read_manifest",
    "stable_run_id",
]
