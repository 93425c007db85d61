"""MLflow in and out: `MlflowLogger` logs `tune`'s trials as MLflow runs; `import_mlflow_runs`
stores an experiment's finished runs in the knowledge base. Needs the `mlflow` extra.

The logger works in a background thread, so training never waits for the tracker. A tracker
that cannot be reached or refuses a write gives one warning, and the study goes on without it;
at the end of the study the logger waits at most `flush_timeout` seconds for what is queued.

Each trial becomes one run: its configuration as params, every metric (the objective included)
and the per-epoch history (`train_loss`, `val_loss`, `val_<objective>`, `lr`, step = epoch), the
MLflow status (ok FINISHED, pruned KILLED, diverged/failed FAILED), and `hpo_recommend.*` tags:
study id, KB run id, exact status, objective, direction, dataset; the best trial is tagged
`hpo_recommend.best=true` when the study ends.

Example:
    >>> rec = Recommender(kb="kb.duckdb")  # doctest: +SKIP
    >>> rec.tune("data.csv", target="y", budget=20, mlflow="sqlite:///mlflow.db")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import warnings
from typing import Any

from knowledge_base import RunRecord
from recommender.integrations import _mlflow_names as names
from recommender.integrations._mlflow_import import import_mlflow_runs

try:
    import mlflow
    from mlflow.entities import Metric, Param
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "recommender.integrations.mlflow needs mlflow: pip install 'hpo-recommend[mlflow]'"
    ) from exc

__all__ = ["DEFAULT_EXPERIMENT", "MlflowLogger", "import_mlflow_runs"]

DEFAULT_EXPERIMENT = "hpo-recommend"
_BATCH = 1000  # MLflow's limit of metrics per log_batch call
_PROBE_SECONDS = (3.0, 30.0)  # connect (a server that is down), then read (a busy one)


class MlflowLogger:
    """Log each finished trial of a study as an MLflow run, without ever failing the study.

    Args:
        tracking_uri: where to log (None: MLflow's own default, `$MLFLOW_TRACKING_URI` or local).
        experiment: MLflow experiment name, created if missing.
        dataset_name, dataset_id: written as tags, so `log --from-mlflow --dataset-tag` can tell
            the datasets of one experiment apart.
        flush_timeout: seconds `finish` waits for queued trials before giving up on them.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
        *,
        dataset_name: str = "",
        dataset_id: str = "",
        flush_timeout: float = 30.0,
    ) -> None:
        # MLflow prints each run's URL on stdout, which carries `tune --json`'s result.
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.flush_timeout = flush_timeout
        self.warning: str | None = None  # the one warning given, if any
        self._tags = {names.DATASET_TAG: dataset_name, names.DATASET_ID_TAG: dataset_id}
        self._queue: queue.Queue[tuple[str, RunRecord | None] | None] = queue.Queue()
        self._mlflow_ids: dict[str, str] = {}  # KB run id -> MLflow run id
        self._trials = 0
        self._thread = threading.Thread(target=self._work, name="mlflow-logger", daemon=True)
        self._thread.start()

    def log_trial(self, record: RunRecord) -> None:
        """Queue one finished trial; returns at once."""
        if self.warning is None:
            self._queue.put(("trial", record))

    def finish(self, best: RunRecord | None) -> None:
        """Tag the best trial, then wait (at most `flush_timeout` s) for the queue to empty."""
        self._queue.put(("best", best))
        self._queue.put(None)
        self._thread.join(self.flush_timeout)
        if self._thread.is_alive():
            self._warn(f"MLflow at {self._where()} did not take the study's trials within "
                       f"{self.flush_timeout:g} s; the ones not sent are not in MLflow")

    # ---- the logging thread -------------------------------------------------------------------
    def _work(self) -> None:
        try:
            client, experiment_id = self._connect()
        except Exception as exc:  # any failure of the tracker: warn once, drop the trials
            self._warn(f"cannot log to MLflow at {self._where()} ({_brief(exc)}); "
                       "the study goes on without it")
            return
        while (item := self._queue.get()) is not None:
            kind, record = item
            try:
                if kind == "trial" and record is not None:
                    self._log(client, experiment_id, record)
                elif kind == "best" and record is not None and record.id in self._mlflow_ids:
                    client.set_tag(self._mlflow_ids[record.id], names.BEST_TAG, "true")
            except Exception as exc:  # the tracker went down mid-study
                self._warn(f"logging to MLflow at {self._where()} failed ({_brief(exc)}); "
                           "the study goes on without it")
                return

    def _connect(self) -> tuple[Any, str]:
        uri = self.tracking_uri or mlflow.get_tracking_uri()
        if uri.startswith(("http://", "https://")):
            _probe(uri)
        client = mlflow.MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(self.experiment)
        if found is not None:
            return client, found.experiment_id
        return client, client.create_experiment(self.experiment)

    def _log(self, client: Any, experiment_id: str, record: RunRecord) -> None:
        self._trials += 1
        end = int(record.created.timestamp() * 1000)
        start = end - int((record.wall_seconds or 0.0) * 1000)
        run = client.create_run(experiment_id, start_time=start, tags=self._run_tags(record),
                                run_name=f"{self._tags[names.DATASET_TAG]} trial {self._trials}")
        run_id = run.info.run_id
        params = [Param(k, _text(v)) for k, v in record.config.items() if v is not None]
        metrics = _metrics(record, start)
        for i in range(0, max(len(metrics), len(params), 1), _BATCH):
            client.log_batch(run_id, metrics=metrics[i:i + _BATCH], params=params[i:i + _BATCH])
        client.set_terminated(run_id, status=names.EXPORT_STATUS[record.status], end_time=end)
        self._mlflow_ids[record.id] = run_id

    def _run_tags(self, record: RunRecord) -> dict[str, str]:
        tags = {
            **self._tags,
            names.RUN_ID_TAG: record.id,
            names.STUDY_TAG: record.study_id or "",
            names.STATUS_TAG: record.status,
            names.OBJECTIVE_TAG: record.objective,
            names.DIRECTION_TAG: record.direction,
        }
        if record.error:
            tags[names.ERROR_TAG] = record.error[:5000]
        if record.stop_reason:
            tags[names.STOP_REASON_TAG] = record.stop_reason
        return tags

    def _warn(self, message: str) -> None:
        if self.warning is None:
            self.warning = message
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def _where(self) -> str:
        return self.tracking_uri or "the default tracking URI"


def _metrics(record: RunRecord, start: int) -> list[Metric]:
    """The final metrics (step 0) and the per-epoch history (step = epoch), finite values only."""
    final = {**record.metrics, record.objective: record.value}
    metrics = [Metric(k, float(v), start, 0) for k, v in final.items() if math.isfinite(v)]
    for p in record.curve:
        at = start + p.epoch  # distinct timestamps keep MLflow's history in epoch order
        for key, value in ((names.TRAIN_LOSS, p.train_loss), (names.VAL_LOSS, p.val_loss),
                           (f"val_{record.objective}", p.val_metric), (names.LR, p.lr)):
            if math.isfinite(value):
                metrics.append(Metric(key, float(value), at, p.epoch))
    return metrics


def _text(value: Any) -> str:
    return value if isinstance(value, str) else (
        json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    )


def _probe(uri: str) -> None:
    """Fail fast (one short request, no retries) when an HTTP tracking server is down."""
    import requests

    requests.get(uri.rstrip("/") + "/health", timeout=_PROBE_SECONDS)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
