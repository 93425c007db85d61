"""`tune`: a warm-started search on one dataset with real training, from table to best config.

The driver asks the study for configurations, hands them to an executor, and tells the study
each result as it arrives (which logs it into the knowledge base at once). It alone writes to the
KB. A trial whose worker crashed is logged as `failed`; no trial status stops the study. Ctrl-C
ends it cleanly: finished trials are kept and the study is marked `interrupted`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from hpo_common.errors import InputError
from knowledge_base import SCHEDULE_KEY, DatasetRecord, KnowledgeBase, RunRecord
from recommender._cache import meta_features_of
from recommender._wiring import make_executor, open_study
from recommender.executors import Executor, RayOptions
from recommender.learn import objective_for
from recommender.search import PBTSearcher, ask_batch
from recommender.settings import TuneSettings
from recommender.space import SearchSpace, check_trainable
from recommender.study import Study
from training import (
    BATCH_FIELDS,
    PreparedData,
    Table,
    TrainConfig,
    TrainResult,
    for_config,
    prepare,
    train,
)
from training.metrics import METRIC_DIRECTIONS

POPULATION_EXECUTORS = ("the pbt strategy trains each population in one process: run it with "
                        "the local executors (--executor local, the default)")


@dataclass(frozen=True)
class TrialEvent:
    """What the progress display learns after each trial."""

    done: int
    total: int | None
    status: str
    value: float
    config: dict[str, Any]
    best_value: float | None
    elapsed: float


class TrialLogger(Protocol):
    """Somewhere else each trial is reported as it finishes (an experiment tracker).

    It must never raise nor block for long: a tracker's trouble must not stop the study.
    """

    def log_trial(self, record: RunRecord) -> None: ...

    def finish(self, best: RunRecord | None) -> None: ...


@dataclass(frozen=True)
class TuneResult:
    """What `tune` returns.

    Attributes:
        study_id, dataset_id, dataset_name: where the trials are stored in the KB.
        task: the table's task ("binary", "multiclass" or "regression").
        status: "finished" or "interrupted".
        objective, direction: what was optimised.
        best_config: the best `ok` trial's full configuration (None if no trial ended `ok`).
        best_value, best_run_id: its objective value and run id.
        counts: trials by status ("ok", "pruned", "diverged", "failed").
        trials: one row per trial of the study (KB `runs` columns plus `trial`).
        kb_path: the knowledge base file (None in memory).
        checkpoint: the `--refit` checkpoint file, if any.
        wall_seconds: the whole study.
    """

    study_id: str
    dataset_id: str
    dataset_name: str
    task: str
    status: str
    objective: str
    direction: str
    best_config: dict[str, Any] | None
    best_value: float | None
    best_run_id: str | None
    counts: dict[str, int]
    trials: pd.DataFrame = field(compare=False, repr=False)
    kb_path: str | None = None
    checkpoint: str | None = None
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's `--json`); trials as a list of short records."""
        names = [f.name for f in dataclasses.fields(self) if f.name != "trials"]
        out = {name: getattr(self, name) for name in names}
        shown = [c for c in ("trial", "id", "status", "value", "epochs_run", "wall_seconds")
                 if c in self.trials]
        out["trials"] = self.trials[shown].to_dict("records")
        return out


def tune(
    table: Table,
    kb: KnowledgeBase,
    space: SearchSpace,
    *,
    budget: int | None = TuneSettings.budget,
    timeout: float | None = TuneSettings.timeout,
    strategy: str = TuneSettings.strategy,
    workers: int = TuneSettings.workers,
    seed: int = TuneSettings.seed,
    metric: str | None = None,
    warm_start: int = TuneSettings.warm_start,
    pruner: str | None = TuneSettings.pruner,
    max_epochs: int | None = None,
    device: str = TuneSettings.device,
    resume: str | None = None,
    refit: bool = False,
    out: str | Path | None = None,
    progress: Callable[[TrialEvent], None] | None = None,
    cache_dir: Path | None = None,
    ray: RayOptions | None = None,
    loggers: Sequence[TrialLogger] = (),
    batch: int = TuneSettings.batch,
    grid_limit: int = TuneSettings.grid_limit,
) -> TuneResult:
    """Search `space` for the best configuration of `table`, logging every trial into `kb`.

    Defaults are `recommender.settings.TuneSettings`'s.

    Args:
        budget: trials in total (a resumed study counts its logged ones); None: until `timeout`.
        timeout: seconds after which no new trial starts.
        strategy: "surrogate" (default), "random", "portfolio", "grid", "evolution" or "pbt".
        workers: trials trained at once in local worker processes (1: in this process); with
            `ray`, at most this many Ray tasks at once (1: as many as the cluster fits).
        seed: the split, the search and every trial's training seed.
        metric: the objective (default: log_loss, or r2 for regression).
        warm_start: suggestions tried first (surrogate strategy).
        pruner: "learned" (default), "median", "asha" or None (or "none").
        max_epochs: cap on every trial's epochs.
        resume: continue the study with this id (same data).
        refit: retrain the best configuration on train+validation and save a checkpoint in `out`.
        progress: called after each trial (the CLI's live display).
        ray: run the trials as Ray tasks (`recommender.executors.RayOptions`: cluster
            address, CPUs and GPUs per trial); needs the `ray` extra.
        loggers: each trial is also reported to these as it finishes (e.g.
            `recommender.integrations.mlflow.MlflowLogger`).
        batch: configurations proposed and trained together (`training.train_many`) per slot:
            the searcher's pick plus neighbours in its training group, chosen by its
            acquisition. 1 (the default) trains one trial at a time: per trial, one decision
            per batch finds less than one per trial (README, "Batched training").
        grid_limit: the largest grid (cells) the "grid" strategy accepts.

    Example:
        >>> result = tune(load_table("wine.csv"), KnowledgeBase("kb.duckdb"), default_space(),
        ...               budget=10)  # doctest: +SKIP
        >>> result.best_config, result.counts  # doctest: +SKIP
    """
    TuneSettings(  # the names and ranges, checked before anything is read or trained
        budget=budget, timeout=timeout, strategy=strategy, warm_start=warm_start,
        pruner=pruner, workers=workers, device=device, seed=seed, batch=batch,
        grid_limit=grid_limit,
    )
    if refit and out is None:
        raise InputError("refit needs an output folder (--out DIR) for the checkpoint")
    if strategy == "pbt" and ray is not None:
        raise InputError(POPULATION_EXECUTORS)
    objective = objective_for(table.task, metric)
    if metric is not None and metric != objective:
        raise InputError(f"metric {metric!r} does not apply to a {table.task} task; "
                         f"use one of the task's metrics (default {objective})")
    data = prepare(table, seed=seed)
    study = open_study(
        kb, check_trainable(space), DatasetRecord.from_table(table),
        meta_features=meta_features_of(table, cache_dir), objective=objective,
        direction=METRIC_DIRECTIONS[objective], strategy=strategy, warm_start=warm_start,
        budget=budget, pruner=pruner, seed=seed, max_epochs=max_epochs,
        resume=resume, cache_dir=cache_dir, grid_limit=grid_limit,
    )
    started = time.perf_counter()
    executor = make_executor(data, workers, device=device, seed=seed, metric=objective, ray=ray)
    status = run_study(study, executor, budget=study.record.budget, timeout=timeout,
                       progress=progress, loggers=loggers, batch=batch)
    study.finish(status)
    for logger in loggers:
        logger.finish(study.best)
    checkpoint = None
    if refit and out is not None and study.best is not None and status == "finished":
        checkpoint = str(refit_best(study, data, Path(out), device=device, seed=seed))
    best = study.best
    return TuneResult(
        study_id=study.id,
        dataset_id=study.dataset_id,
        dataset_name=table.name,
        task=table.task,
        status=status,
        objective=objective,
        direction=study.direction,
        best_config=dict(best.config) if best else None,
        best_value=best.value if best else None,
        best_run_id=best.id if best else None,
        counts={s: study.counts.get(s, 0) for s in ("ok", "pruned", "diverged", "failed")},
        trials=study.trials(),
        kb_path=None if kb.path is None else str(kb.path),
        checkpoint=checkpoint,
        wall_seconds=time.perf_counter() - started,
    )


def run_study(
    study: Study,
    executor: Executor,
    *,
    budget: int | None,
    timeout: float | None = None,
    progress: Callable[[TrialEvent], None] | None = None,
    loggers: Sequence[TrialLogger] = (),
    batch: int = 1,
) -> str:
    """Run trials until the budget, the timeout or the strategy's ideas run out.

    With `batch` > 1 and an executor that has `submit_batch`, each free slot gets a batch of
    configurations (`recommender.search.ask_batch`) trained together; else one trial a slot. A
    `PBTSearcher` gets one sub-population a slot, trained by the executor's `submit_population`.
    Returns "finished", or "interrupted" after Ctrl-C (finished trials are already stored).
    """
    started = time.perf_counter()
    running: dict[Future[Any], list[dict[str, Any]]] = {}  # each future's configurations
    slot_of: dict[Future[Any], int] = {}  # futures of one batch share a slot
    submitted = 0
    exhausted = False
    batch = batch if hasattr(executor, "submit_batch") else 1
    pbt = study.searcher if isinstance(study.searcher, PBTSearcher) else None
    if pbt is not None and not hasattr(executor, "submit_population"):
        executor.close()
        raise InputError(POPULATION_EXECUTORS)

    def planned() -> int:
        return study.n_trials + sum(map(len, running.values()))

    def may_start() -> bool:
        in_time = timeout is None or time.perf_counter() - started < timeout
        return not exhausted and in_time and (budget is None or planned() < budget)

    try:
        while True:
            while len(set(slot_of.values())) < executor.capacity and may_start():
                room = budget - planned() if budget is not None else None
                configs = (pbt.ask_population(room or pbt.members) if pbt is not None
                           else _ask(study, batch if room is None else min(batch, room)))
                if not configs:
                    exhausted = True
                    break
                for future, group in _submit(executor, study, configs):
                    running[future], slot_of[future] = group, submitted
                submitted += 1
            if not running:
                return "finished"
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in [f for f in running if f in done]:  # in submission order
                configs = running.pop(future)
                slot_of.pop(future)
                first = study.n_trials  # a population's members are told one after another
                for config, result in zip(configs, _results_of(future, study, configs),
                                          strict=True):
                    record = study.tell(config, result=result,
                                        extra=_schedule(study, result, first))
                    for logger in loggers:
                        logger.log_trial(record)
                    if progress is not None:
                        best = study.best
                        progress(TrialEvent(
                            done=study.n_trials, total=budget, status=record.status,
                            value=record.value, config=dict(record.config),
                            best_value=None if best is None else best.value,
                            elapsed=time.perf_counter() - started,
                        ))
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        executor.close()


def _ask(study: Study, size: int) -> list[dict[str, Any]]:
    """The next `size` configurations (a batch that trains as one group), [] when none."""
    if size <= 1:
        config = study.ask()
        return [] if config is None else [config]
    return ask_batch(study.searcher, size, BATCH_FIELDS)


def _submit(
    executor: Executor, study: Study, configs: list[dict[str, Any]]
) -> list[tuple[Future[Any], list[dict[str, Any]]]]:
    """Each future of the submission with the configurations whose results it holds."""
    full = [study.train_config(c) for c in configs]
    searcher = study.searcher
    if isinstance(searcher, PBTSearcher):
        policy = searcher.policy(study.direction)
        population = executor.submit_population(  # type: ignore[attr-defined]
            full, searcher.ready, policy)
        return [(population, configs)]
    if len(configs) == 1:
        return [(executor.submit(full[0], study.epoch_callback(full[0].to_dict())), configs)]
    callbacks = [study.epoch_callback(c.to_dict()) for c in full]
    futures = executor.submit_batch(full, callbacks)  # type: ignore[attr-defined]
    return [(future, [config]) for future, config in zip(futures, configs, strict=True)]


def _results_of(
    future: Future[Any], study: Study, configs: list[dict[str, Any]]
) -> list[TrainResult]:
    """The results a future holds (one trial, or a population), or `failed` results when its
    worker crashed."""
    try:
        out = future.result()
        return out if isinstance(out, list) else [out]
    except Exception as exc:  # the worker process died or the trial raised: failed trials
        error = f"{type(exc).__name__}: {exc}".strip()
        return [
            TrainResult(
                status="failed", objective="", direction="minimize", value=math.nan,
                metrics={}, best_epoch=0, epochs_run=0, curve=(), wall_seconds=0.0, device="",
                seed=0, config=study.train_config(config), error=error,
                stop_reason="failed",
            )
            for config in configs
        ]


def _schedule(study: Study, result: TrainResult, first: int) -> dict[str, Any] | None:
    """A population member's schedule for the KB, `copied_from` as the source's run id (the
    population's members are trials `first`, `first + 1`, ...)."""
    if not result.schedule:
        return None
    return {SCHEDULE_KEY: [
        {**step, "copied_from": None if step["copied_from"] is None
         else study.trial_run_id(first + step["copied_from"])}
        for step in result.schedule
    ]}


def refit_best(
    study: Study, data: PreparedData, out: Path, *, device: str = "auto", seed: int = 0
) -> Path:
    """Retrain the study's best configuration on train+validation; save a checkpoint.

    The run repeats the best trial's schedule and stops at its best epoch (the validation split
    is now part of the training data, so it can no longer choose the epoch). The checkpoint is a
    plain dict (config, preprocessing, classes, feature names, task, state_dict) written with
    `torch.save`; load it with `torch.load(path, weights_only=False)`.
    """
    import torch

    best = study.best
    if best is None:
        raise InputError("no trial ended ok, so there is no best configuration to refit")
    config = study.train_config({k: v for k, v in best.config.items()
                                 if k in TrainConfig.field_names()}).replace(patience=0)
    data = for_config(data, config)  # the preprocessing this configuration trains on
    both = dataclasses.replace(
        data,
        x_train=np.concatenate([data.x_train, data.x_val]),
        y_train=np.concatenate([data.y_train, data.y_val]),
        source=None,
    )
    stop_at = max(best.best_epoch, 1)
    result = train(config, both, device=device, seed=seed, metric=best.objective,
                   callback=lambda epoch, value: epoch >= stop_at, keep_model=True)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.pt"
    torch.save(
        {
            "config": config.replace(max_epochs=stop_at).to_dict(),
            "preprocessing": data.preprocessor,
            "classes": list(data.classes),
            "feature_names": list(data.feature_names),
            "n_numeric": data.n_numeric,
            "cardinalities": list(data.cardinalities),
            "task": data.task,
            "objective": best.objective,
            "study_id": study.id,
            "state_dict": result.model_state,
        },
        path,
    )
    return path
