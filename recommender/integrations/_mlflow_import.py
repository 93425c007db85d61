"""Import the finished runs of an MLflow experiment as knowledge-base runs (`log --from-mlflow`).

Each run in a terminal state becomes one row of the runs-file format (hyperparameters, `metric`,
`value`, `status`, `seed`) and is validated by `recommender.ingest` exactly like a CSV row:
every bad run is reported, nothing is stored unless all are valid (or `skip_invalid`). What a row
cannot carry is added to the validated record afterwards: the learning curve (metric
histories), wall time, and an id derived from the MLflow run id, so a second import stores
nothing new. Runs exported by `tune --mlflow` keep their original run id and exact status.

How things map:
    params: known names (`lr`, `batch_size`, `epochs`, ... see `PARAM_ALIASES`, plus `--map`)
        become hyperparameters; other params are kept in the run's extra configuration.
    objective: the metric named by `metric` (default: the run's `hpo_recommend.objective` tag,
        else the task's default metric), its latest value; `--map` renames a metric onto a
        standard one (`val_acc=accuracy`); other standard metrics are stored too.
    curve: per-step histories of the objective (or `val_<objective>`), `train_loss`,
        `val_loss` and `lr`, one epoch per step.
    status: FINISHED -> ok, FAILED -> failed, KILLED -> pruned (failed without a score).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_common.errors import DataError, InputError, NotFoundError
from knowledge_base import (
    STOP_REASONS,
    CurvePoint,
    DatasetRecord,
    KnowledgeBase,
    RunRecord,
    stable_run_id,
)
from recommender.ingest import (
    ImportReport,
    RowProblem,
    check_problems,
    resolve_dataset,
    store_runs,
    validate_numbered_runs,
)
from recommender.integrations import _mlflow_names as names
from training import METRIC_DIRECTIONS, Table, default_metric, load_table, metrics_for

_RESERVED = ("status", "epochs", "direction", "metric", "value", *METRIC_DIRECTIONS)
_PAGE = 1000


@dataclass(frozen=True)
class MlflowRun:
    """One MLflow run as the import sees it: what validation needs and what it adds after."""

    run_id: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    status: str
    histories: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    wall_seconds: float | None = None


def import_mlflow_runs(
    kb: KnowledgeBase,
    tracking_uri: str,
    experiment: str,
    *,
    dataset: str | Path | Sequence[str | Path] | None = None,
    target: str | None = None,
    dataset_id: str | None = None,
    metric: str | None = None,
    direction: str | None = None,
    name_map: dict[str, str] | None = None,
    dataset_tag: str | None = None,
    skip_invalid: bool = False,
) -> ImportReport:
    """Store the finished runs of MLflow `experiment` (at `tracking_uri`) as KB runs.

    Without `dataset_tag` every run belongs to the one dataset given (a file, or `dataset_id`).
    With it, each run's tag or param of that name says which of the `dataset` files (by path,
    file name or stem) or KB dataset ids it was trained on. `target` applies to every file.

    Example:
        >>> import_mlflow_runs(kb, "sqlite:///mlflow.db", "wine-mlp",
        ...                    dataset="wine.csv", metric="val_acc",
        ...                    name_map={"val_acc": "accuracy"})  # doctest: +SKIP
    """
    name_map = dict(name_map or {})
    if metric and name_map.get(metric, metric) not in METRIC_DIRECTIONS and not direction:
        raise InputError(
            f"--metric {metric!r} is not a standard metric ({', '.join(METRIC_DIRECTIONS)}); "
            f"give --direction minimize or maximize, or --map {metric}=<standard metric>"
        )
    runs = read_mlflow_runs(tracking_uri, experiment)
    where = f"MLflow experiment {experiment!r} ({tracking_uri})"
    if not runs:
        raise DataError(f"{where} has no finished runs (FINISHED, FAILED or KILLED)")
    groups, problems = _group(kb, runs, dataset, target, dataset_id, dataset_tag)
    validated: list[tuple[Table | None, DatasetRecord, list[RunRecord]]] = []
    for (table, record), numbered in groups.values():
        rows = [_row(runs[i], record.task, metric, direction, name_map) for i in numbered]
        good, found = validate_numbered_runs(
            rows, dataset_id=record.id, task=record.task, own_params=True
        )
        problems += [_relabel(p, runs, numbered) for p in found]
        validated.append((table, record, [
            _complete(run_record, runs[numbered[n - 1]], record.id, name_map)
            for n, run_record in good
        ]))
    problems.sort(key=lambda p: p.row)
    check_problems(problems, len(runs), where, skip_invalid)
    added = stored = 0
    for table, record, records in validated:
        added += store_runs(kb, table, record, records)
        stored += len(records)
    ids = tuple(record.id for _, record, _ in validated)
    return ImportReport(ids[0] if ids else "", len(runs), added, stored - added,
                        tuple(problems), ids)


def read_mlflow_runs(tracking_uri: str, experiment: str) -> list[MlflowRun]:
    """The experiment's runs in a terminal state, oldest first, with their metric histories."""
    client = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            known = [e.name for e in client.search_experiments()]
            raise NotFoundError(
                f"no MLflow experiment {experiment!r} at {tracking_uri}; its experiments are: "
                + (", ".join(known) or "none")
            )
        runs, token = [], None
        while True:
            page = client.search_runs([found.experiment_id], max_results=_PAGE,
                                      order_by=["attributes.start_time ASC"], page_token=token)
            runs += [run for run in page if run.info.status in names.TERMINAL]
            token = page.token
            if not token:
                break
        return [_read(client, run) for run in runs]
    except MlflowException as exc:
        raise InputError(f"cannot read MLflow tracking store {tracking_uri!r}: "
                         f"{exc.message.splitlines()[0]}") from None


def _client(tracking_uri: str) -> Any:
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise InputError(
            "importing MLflow runs needs mlflow: pip install 'hpo-recommend[mlflow]'"
        ) from None
    try:
        return MlflowClient(tracking_uri=tracking_uri)
    except MlflowException as exc:  # a malformed URI, or a store MLflow will not open
        raise InputError(f"cannot open MLflow tracking store {tracking_uri!r}: "
                         f"{exc.message.splitlines()[0]}") from None


def _read(client: Any, run: Any) -> MlflowRun:
    metrics = dict(run.data.metrics)
    histories = {
        key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
        for key in metrics
    }
    start, end = run.info.start_time, run.info.end_time
    return MlflowRun(
        run_id=run.info.run_id,
        params=dict(run.data.params),
        metrics=metrics,
        tags=dict(run.data.tags),
        status=run.info.status,
        histories=histories,
        wall_seconds=(end - start) / 1000 if start and end else None,
    )


# ---- datasets -----------------------------------------------------------------------------------
Dataset = tuple[Table | None, DatasetRecord]
Groups = dict[str, tuple[Dataset, list[int]]]  # dataset id -> (dataset, run indexes)


def _group(
    kb: KnowledgeBase,
    runs: list[MlflowRun],
    dataset: str | Path | Sequence[str | Path] | None,
    target: str | None,
    dataset_id: str | None,
    dataset_tag: str | None,
) -> tuple[Groups, list[RowProblem]]:
    """Run indexes by dataset, and a problem for each run whose dataset cannot be told."""
    files = [dataset] if isinstance(dataset, (str, Path)) else list(dataset or [])
    if dataset_tag is None:
        if len(files) > 1:
            raise InputError("several --dataset files need --dataset-tag to tell which run "
                             "was trained on which")
        one = resolve_dataset(kb, files[0] if files else None, target, dataset_id)
        return {one[1].id: (one, list(range(len(runs))))}, []
    by_name = _datasets_by_name(kb, files, target, dataset_id)
    groups: Groups = {}
    problems = []
    for index, run in enumerate(runs):
        value = run.tags.get(dataset_tag, run.params.get(dataset_tag))
        try:
            found = by_name[value] if value in by_name else (None, kb.get_dataset(str(value)))
            groups.setdefault(found[1].id, (found, []))[1].append(index)
        except NotFoundError:
            reason = ("the run has no tag or param of that name" if value is None else
                      "names none of the datasets given ("
                      + ", ".join(str(f) for f in files) + ") nor a dataset id in the KB")
            problems.append(RowProblem(index + 1, dataset_tag, value, reason,
                                       f"MLflow run {run.run_id}"))
    return groups, problems


def _datasets_by_name(
    kb: KnowledgeBase, files: list[str | Path], target: str | None, dataset_id: str | None
) -> dict[str, Dataset]:
    """Each dataset file under its path as given, file name, stem, table name and fingerprint."""
    found: dict[str, Dataset] = {}
    if dataset_id is not None:
        record = kb.get_dataset(dataset_id)
        found[record.id] = (None, record)
    for file in files:
        table = load_table(file, target=target)
        record = DatasetRecord.from_table(table)
        for key in (str(file), Path(file).name, Path(file).stem, table.name, record.id):
            found[key] = (table, record)
    return found


# ---- one run ------------------------------------------------------------------------------------
def _row(
    run: MlflowRun, task: str, metric: str | None, direction: str | None, name_map: dict[str, str]
) -> dict[str, Any]:
    """The run as a runs-file row, for `validate_numbered_runs`."""
    metrics = {name_map.get(k, k): v for k, v in run.metrics.items()}
    objective = name_map.get(metric, metric) if metric else (
        run.tags.get(names.OBJECTIVE_TAG) or default_metric(task)
    )
    row: dict[str, Any] = {"metric": objective, "value": metrics.get(objective)}
    row.update({k: v for k, v in metrics.items() if k in metrics_for(task) and k != objective})
    given_direction = direction or run.tags.get(names.DIRECTION_TAG)
    if given_direction:
        row["direction"] = given_direction
    for key, value in run.params.items():
        ours = name_map.get(key) or names.PARAM_ALIASES.get(key)
        if ours in METRIC_DIRECTIONS:
            continue
        if ours is None:
            ours = f"param.{key}" if key in _RESERVED else key
        row[ours] = value
    if row.get("value") is not None and math.isnan(row["value"]):
        row["value"] = None  # MLflow stores NaN; a missing score reads the same to validation
    row["status"] = run.tags.get(names.STATUS_TAG) or _status(run.status, row["value"])
    row["mlflow_run_id"] = run.run_id
    return row


def _status(mlflow_status: str, value: float | None) -> str:
    if mlflow_status == "FINISHED":
        return "ok"
    return "pruned" if mlflow_status == "KILLED" and value is not None else "failed"


def _stop_reason(tag: str | None) -> str | None:
    """The exported run's stop reason; a tag this version does not know reads as unknown."""
    return tag if tag in STOP_REASONS else None


def _relabel(problem: RowProblem, runs: list[MlflowRun], numbered: list[int]) -> RowProblem:
    """A problem of a dataset's n-th run, renumbered over the whole experiment."""
    index = numbered[problem.row - 1]
    return dataclasses.replace(problem, row=index + 1, label=f"MLflow run {runs[index].run_id}")


def _complete(
    record: RunRecord, run: MlflowRun, dataset_id: str, name_map: dict[str, str]
) -> RunRecord:
    """Add what a runs-file row cannot carry: curve, best epoch, wall time, error and the id."""
    histories = {name_map.get(k, k): v for k, v in run.histories.items()}
    curve = _curve(histories, record.objective)
    sign = 1.0 if record.direction == "maximize" else -1.0
    finite = [p for p in curve if math.isfinite(p.val_metric)]
    best = max(finite, key=lambda p: sign * p.val_metric).epoch if finite else 0
    return dataclasses.replace(
        record,
        curve=curve,
        best_epoch=best,
        epochs_run=len(curve) or record.epochs_run,
        wall_seconds=run.wall_seconds,
        error=run.tags.get(names.ERROR_TAG),
        stop_reason=_stop_reason(run.tags.get(names.STOP_REASON_TAG)),
        id=run.tags.get(names.RUN_ID_TAG)
        or stable_run_id(dataset_id, {}, mlflow_run_id=run.run_id),
    )


def _curve(
    histories: dict[str, list[tuple[int, float]]], objective: str
) -> tuple[CurvePoint, ...]:
    """One point per logged step of the run's per-epoch histories (NaN where one is missing)."""
    own = [objective] if len(histories.get(objective, ())) > 1 else []  # else a final value
    keys = {
        "val_metric": _first(histories, (f"val_{objective}", *own)),
        "train_loss": _first(histories, (names.TRAIN_LOSS, "loss")),
        "val_loss": _first(histories, (names.VAL_LOSS,)),
        "lr": _first(histories, (names.LR, "learning_rate")),
    }
    series = {name: dict(histories[key]) for name, key in keys.items() if key}
    steps = sorted({step for values in series.values() for step in values})
    return tuple(
        CurvePoint(epoch, *(float(series.get(name, {}).get(step, math.nan))
                            for name in ("train_loss", "val_loss", "val_metric", "lr")))
        for epoch, step in enumerate(steps, start=1)
    )


def _first(histories: dict[str, Any], keys: Iterable[str]) -> str | None:
    return next((key for key in keys if key in histories), None)
