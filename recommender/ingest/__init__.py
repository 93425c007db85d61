"""Runs trained elsewhere, validated and stored (`hpo-recommend log`, `Recommender.log_runs`).

A CSV or JSONL runs file is read (`read_run_rows`), every row validated (`validate_runs`, with
a `RowProblem` per bad cell), and only then the dataset and the valid runs stored
(`import_runs` -> `ImportReport`). The MLflow and Optuna importers in
`recommender.integrations` turn their runs into such rows and store them the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo_common.lazy import lazy_exports

if TYPE_CHECKING:
    from recommender.ingest._files import ImportReport as ImportReport
    from recommender.ingest._files import RowProblem as RowProblem
    from recommender.ingest._files import check_problems as check_problems
    from recommender.ingest._files import import_runs as import_runs
    from recommender.ingest._files import read_run_rows as read_run_rows
    from recommender.ingest._files import resolve_dataset as resolve_dataset
    from recommender.ingest._files import store_rows as store_rows
    from recommender.ingest._files import store_runs as store_runs
    from recommender.ingest._files import validate_numbered_runs as validate_numbered_runs
    from recommender.ingest._files import validate_runs as validate_runs

_NAMES = (
    "ImportReport",
    "RowProblem",
    "check_problems",
    "import_runs",
    "read_run_rows",
    "resolve_dataset",
    "store_rows",
    "store_runs",
    "validate_numbered_runs",
    "validate_runs",
)
# Public name -> the module that defines it.
_MODULES = dict.fromkeys(_NAMES, "_files")

__all__ = sorted(_MODULES)
lazy_exports(__name__, _MODULES)
