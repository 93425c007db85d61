"""Import runs trained elsewhere (a CSV or JSONL file of configurations and scores).

Each row is one run: hyperparameters named as in `training.TrainConfig` (stored in typed
columns; any other column is kept in the run's JSON part), the score, and optionally `status`,
`epochs`, `seed`, `direction` and `stop_reason` (why it stopped training: `max_epochs`,
`patience` or `converged` for an `ok` run, else its status). The score is either a `metric`
column naming the metric plus a `value` column, or columns named after standard metrics
(`accuracy`, `log_loss`, ...): the task's default metric is then the objective if present, else
the first such column; the others are stored as the run's metrics.

Missing hyperparameters: a hyperparameter the file has no column for stays empty (NULL) in every
run: the file does not say what the runs used. An empty cell in a hyperparameter column refuses
its row, as an `ok` row without a value is refused (the value was lost, and a default may not be
what the run used), unless the hyperparameter is inactive for that row (momentum of an adam run,
per the default space's conditions) or `fill_defaults` asks for `TrainConfig`'s default.

Every row is validated before anything is written. Row numbers count data rows from 1 (in a CSV
the header is not a row; in a JSONL file row N is line N).

Example:
    >>> report = import_runs(kb, "runs.csv", dataset="data.csv", target="y")  # doctest: +SKIP
    >>> report.imported, len(report.invalid)  # doctest: +SKIP
    (48, 0)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hpo_common.errors import ConfigError, DataError, InputError
from knowledge_base import (
    DIRECTIONS,
    STATUSES,
    STOP_REASONS,
    DatasetRecord,
    KnowledgeBase,
    RunRecord,
    stable_run_id,
)
from recommender._cache import meta_features_of
from recommender._kb import cache_dir_of
from recommender.space import default_space
from training import (
    METRIC_DIRECTIONS,
    Table,
    TrainConfig,
    default_metric,
    load_table,
    metrics_for,
)

HYPERPARAMETERS = TrainConfig.field_names()
_DEFAULTS = TrainConfig().to_dict()
_SPACE = default_space()  # its conditions say which hyperparameters a row may leave empty
OPTIONAL_COLUMNS = ("status", "epochs", "seed", "direction", "stop_reason")
# How an `ok` run may have ended; a run of any other status stopped for its status.
_OK_ENDINGS = tuple(r for r in STOP_REASONS if r not in STATUSES)
SCORE_COLUMNS = ("metric", "value")
_SUFFIXES = (".csv", ".jsonl", ".ndjson")
_SHOWN_PROBLEMS = 50


@dataclass(frozen=True)
class RowProblem:
    """Why one cell of a runs file cannot be imported."""

    row: int
    column: str
    value: Any
    reason: str
    label: str = ""  # the source's own name for the row, e.g. "MLflow run 3f2a..."

    def __str__(self) -> str:
        where = f"row {self.row}" + (f" ({self.label})" if self.label else "")
        return f"{where}, column {self.column!r}, value {self.value!r}: {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    """What `import_runs` did: new runs stored, runs already stored, rows left out and why."""

    dataset_id: str
    rows: int
    imported: int
    already_stored: int
    invalid: tuple[RowProblem, ...] = ()
    dataset_ids: tuple[str, ...] = ()  # every dataset stored to (several with a dataset tag)


def read_run_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a runs file as dicts; CSV cells stay text (validation coerces them)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"runs file not found: '{file}'")
    suffix = file.suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataError(f"unsupported runs file type '{suffix}' for '{file}'; use .csv or .jsonl")
    if suffix == ".csv":
        try:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read runs file '{file}': {exc}") from None
        rows = frame.to_dict(orient="records")
    else:
        rows = []
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"'{file}' line {number} is not valid JSON: {exc}") from None
            if not isinstance(row, dict):
                raise DataError(
                    f"'{file}' line {number} must be a JSON object, but got {type(row).__name__}"
                )
            rows.append(row)
    if not rows:
        raise DataError(f"runs file '{file}' has no rows")
    # Blank hyperparameter cells are kept as None: `validate_runs` decides about them.
    return [
        {str(k): None if _blank(v) else v for k, v in row.items()
         if str(k) in HYPERPARAMETERS or not _blank(v)}
        for row in rows
    ]


def validate_runs(
    rows: list[dict[str, Any]], *, dataset_id: str, task: str, fill_defaults: bool = False
) -> tuple[list[RunRecord], list[RowProblem]]:
    """Turn rows into run records; every bad cell of every row becomes a `RowProblem`.

    A hyperparameter that any row has is one the file records: a row without it (an empty CSV
    cell, a JSONL line without the key) is refused unless the hyperparameter is inactive there,
    or `fill_defaults` (then it takes `TrainConfig`'s default).
    """
    numbered, problems = validate_numbered_runs(
        rows, dataset_id=dataset_id, task=task, fill_defaults=fill_defaults
    )
    return [record for _, record in numbered], problems


def validate_numbered_runs(
    rows: list[dict[str, Any]],
    *,
    dataset_id: str,
    task: str,
    fill_defaults: bool = False,
    own_params: bool = False,
) -> tuple[list[tuple[int, RunRecord]], list[RowProblem]]:
    """As `validate_runs`, each record paired with its row number (from 1).

    With `own_params` each row records only the hyperparameters it has (tracker runs, which log
    their own parameters), so a hyperparameter another row has is not missing from it.
    """
    columns = {name for row in rows for name in row}
    scoring = _score_columns(columns, task)
    recorded = tuple(name for name in HYPERPARAMETERS if name in columns)
    records: list[tuple[int, RunRecord]] = []
    problems: list[RowProblem] = []
    for number, row in enumerate(rows, start=1):
        found: list[RowProblem] = []
        own = tuple(name for name in recorded if name in row) if own_params else recorded
        row = _fill(row, own, fill_defaults)
        record = _parse_row(row, number, scoring, dataset_id, task, found)
        problems.extend(found)
        if record is not None:
            records.append((number, record))
    return records, problems


def import_runs(
    kb: KnowledgeBase,
    runs_file: str | Path,
    *,
    dataset: str | Path | None = None,
    target: str | None = None,
    dataset_id: str | None = None,
    skip_invalid: bool = False,
    fill_defaults: bool = False,
) -> ImportReport:
    """Validate every row of `runs_file`, then store the runs for one dataset.

    The dataset is a data file (`dataset`, with its `target`), fingerprinted and registered with
    its meta-features, or the id of one already in the knowledge base (`dataset_id`). If any row
    is invalid nothing is stored and `InputError` lists every bad cell, unless `skip_invalid`:
    then the valid rows are stored and the report lists the rest. Importing the same file twice
    stores each run once (run ids derive from the row's content). An empty hyperparameter cell
    refuses its row unless `fill_defaults` (see the module docstring).
    """
    table, record = resolve_dataset(kb, dataset, target, dataset_id)
    rows = read_run_rows(runs_file)
    return store_rows(
        kb, rows, f"'{runs_file}'", table, record, skip_invalid, fill_defaults=fill_defaults
    )


def resolve_dataset(
    kb: KnowledgeBase, dataset: str | Path | None, target: str | None, dataset_id: str | None
) -> tuple[Table | None, DatasetRecord]:
    """The runs' dataset: a data file (loaded) or the id of one already in the KB."""
    if (dataset is None) == (dataset_id is None):
        raise InputError("give exactly one of a dataset file (--dataset) or --dataset-id")
    if dataset is not None:
        table = load_table(dataset, target=target)
        return table, DatasetRecord.from_table(table)
    return None, kb.get_dataset(str(dataset_id))


def store_rows(
    kb: KnowledgeBase,
    rows: list[dict[str, Any]],
    where: str,
    table: Table | None,
    record: DatasetRecord,
    skip_invalid: bool,
    *,
    fill_defaults: bool = False,
) -> ImportReport:
    """Validate every row, then store the dataset (with meta-features) and the valid runs."""
    runs, problems = validate_runs(
        rows, dataset_id=record.id, task=record.task, fill_defaults=fill_defaults
    )
    check_problems(problems, len(rows), where, skip_invalid)
    added = store_runs(kb, table, record, runs)
    return ImportReport(
        record.id, len(rows), added, len(runs) - added, tuple(problems), (record.id,)
    )


def check_problems(
    problems: list[RowProblem], n_rows: int, where: str, skip_invalid: bool
) -> None:
    """Raise `InputError` listing every problem, unless there are none or `skip_invalid`."""
    if not problems or skip_invalid:
        return
    bad_rows = len({p.row for p in problems})
    shown = "\n  ".join(str(p) for p in problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    raise InputError(
        f"{bad_rows} of {n_rows} rows in {where} are invalid; nothing was imported "
        f"(--skip-invalid imports the {n_rows - bad_rows} valid rows):\n  {shown}"
        + (f"\n  ... and {more} more" if more > 0 else "")
    )


def store_runs(
    kb: KnowledgeBase, table: Table | None, record: DatasetRecord, runs: list[RunRecord]
) -> int:
    """Store the dataset (with its meta-features when loaded) and its runs; return new runs."""
    kb.add_dataset(record)
    if table is not None and kb.meta_features([record.id]).empty:
        kb.set_meta_features(record.id, meta_features_of(table, cache_dir_of(kb)))
    return kb.log_runs(runs)


# ---- one row ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scoring:
    """Where a file keeps its score: `metric` + `value` columns, or metric-named columns."""

    objective_column: str | None  # a metric-named column holding the objective, or None
    metric_columns: tuple[str, ...]  # metric-named columns, stored as the run's metrics


def _score_columns(columns: set[str], task: str) -> _Scoring:
    named = tuple(m for m in METRIC_DIRECTIONS if m in columns)
    if set(SCORE_COLUMNS) <= columns:
        return _Scoring(None, named)
    if not named:
        raise InputError(
            f"the runs file has no score: add 'metric' and 'value' columns, or a column named "
            f"after a standard metric ({', '.join(METRIC_DIRECTIONS)}); its columns are "
            f"{', '.join(sorted(columns))}"
        )
    default = default_metric(task)
    return _Scoring(default if default in named else named[0], named)


def _parse_row(
    row: dict[str, Any],
    number: int,
    scoring: _Scoring,
    dataset_id: str,
    task: str,
    problems: list[RowProblem],
) -> RunRecord | None:
    def bad(column: str, reason: str) -> None:
        problems.append(RowProblem(number, column, row.get(column), reason))

    for name in (k for k, v in row.items() if v is None):
        problems.append(RowProblem(number, name, "", (
            f"{name} is empty; give the value this run used, or --fill-defaults to store "
            f"TrainConfig's default ({_DEFAULTS[name]!r})"
        )))
    config = _config({k: v for k, v in row.items() if v is not None}, bad)
    status = str(row.get("status", "ok")).strip().lower()
    if status not in STATUSES:
        bad("status", f"status must be one of {', '.join(STATUSES)}")

    objective_column = scoring.objective_column or "metric"
    objective = scoring.objective_column or str(row.get("metric", "")).strip()
    direction = _direction(row, objective, objective_column, task, bad)
    value_column = scoring.objective_column or "value"
    value = _number(row.get(value_column), value_column, bad, required=status in ("ok", "pruned"))
    metrics = {}
    for name in scoring.metric_columns:
        if name in metrics_for(task):
            metrics[name] = _number(row.get(name), name, bad, required=False)
        elif name in row:
            bad(name, f"{name} does not apply to a {task} dataset")
    if objective in metrics_for(task):
        metrics.setdefault(objective, value)
    epochs = _integer(row.get("epochs"), "epochs", bad)
    seed = _integer(row.get("seed"), "seed", bad)
    stop_reason = _stop_reason(row.get("stop_reason"), status, bad)
    if problems:
        return None
    content = {"status": status, "objective": objective, "value": value, "seed": seed,
               "epochs": epochs, "metrics": metrics}
    return RunRecord(
        dataset_id=dataset_id,
        config=config,
        objective=objective,
        direction=direction,
        value=value,
        status=status,
        metrics={k: v for k, v in metrics.items() if not math.isnan(v)},
        epochs_run=epochs or 0,
        seed=seed,
        source="log",
        stop_reason=stop_reason,
        id=stable_run_id(dataset_id, config, **content),
    )


def _fill(row: dict[str, Any], recorded: tuple[str, ...], fill_defaults: bool) -> dict[str, Any]:
    """The row with each recorded hyperparameter it lacks: dropped where inactive for the row
    (momentum of adam), `TrainConfig`'s default if `fill_defaults`, else None (refused)."""
    given = {k: v for k, v in row.items() if v is not None}
    for name in recorded:
        if name in given:
            continue
        if not _SPACE.is_active(name, given):
            continue
        given[name] = _DEFAULTS[name] if fill_defaults else None
    return given


def _config(row: dict[str, Any], bad: Any) -> dict[str, Any]:
    """The row's hyperparameters, checked one by one and then together by `TrainConfig`."""
    given = {k: v for k, v in row.items() if k in HYPERPARAMETERS}
    canonical = {}
    for name, value in given.items():
        try:
            canonical[name] = getattr(TrainConfig.from_dict({name: value}), name)
        except ConfigError as exc:
            if str(exc).startswith(f"{name} "):
                bad(name, str(exc))
            else:  # a rule between fields (nesterov needs sgd): checked below with the others
                canonical[name] = value
    if len(canonical) == len(given):
        try:
            full = TrainConfig.from_dict(canonical)
            canonical = {name: getattr(full, name) for name in canonical}
        except ConfigError as exc:
            column = next((n for n in given if str(exc).startswith(n)), "config")
            bad(column, str(exc))
    reserved = set(HYPERPARAMETERS) | set(OPTIONAL_COLUMNS) | set(SCORE_COLUMNS)
    extra = {k: _scalar(v) for k, v in row.items() if k not in reserved | set(METRIC_DIRECTIONS)}
    return {**canonical, **extra}


def _direction(row: dict[str, Any], objective: str, column: str, task: str, bad: Any) -> str:
    given = str(row.get("direction", "")).strip().lower()
    if given and given not in DIRECTIONS:
        bad("direction", f"direction must be one of {', '.join(DIRECTIONS)}")
        return given
    if not objective:
        bad(column, "the metric name is missing")
        return given
    known = METRIC_DIRECTIONS.get(objective)
    if known is None:
        if not given:
            bad(column, f"'{objective}' is not a standard metric "
                        f"({', '.join(METRIC_DIRECTIONS)}); add a 'direction' column for it")
        return given
    if objective not in metrics_for(task):
        bad(column, f"{objective} does not apply to a {task} dataset; "
                    f"valid: {', '.join(metrics_for(task))}")
    if given and given != known:
        bad("direction", f"{objective} is to {known}, but the row says {given}")
    return known


def _stop_reason(value: Any, status: str, bad: Any) -> str | None:
    """The row's stop reason (None when not given), checked against its status. Not part of the
    run's id: it describes the run, so a file that gains the column re-imports as the same runs."""
    if value is None:
        return None
    reason = str(value).strip().lower()
    valid = _OK_ENDINGS if status == "ok" else (status,)
    if status in STATUSES and reason not in valid:
        bad("stop_reason", f"a run with status {status} stopped for one of {', '.join(valid)}")
    return reason


def _number(value: Any, column: str, bad: Any, *, required: bool) -> float:
    if value is None:
        if required:
            bad(column, "a score is required for a run with status ok or pruned")
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        bad(column, f"{column} must be a number")
        return math.nan
    if math.isinf(number) or (required and math.isnan(number)):
        bad(column, f"{column} must be a finite number")
    return number


def _integer(value: Any, column: str, bad: Any) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number != int(number) or number < 0:
        bad(column, f"{column} must be an integer >= 0")
        return None
    return int(number)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value)
    )


def _scalar(value: Any) -> Any:
    """A CSV cell of an unknown column as the number or boolean it spells, else as text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
