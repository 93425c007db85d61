"""`Study`: one search on one dataset, with ask/tell, every finished trial logged at once.

The study owns the bookkeeping around a searcher (an object: `create_study(searcher=...,
pruner=...)`; names become objects in `recommender._wiring`): it numbers trials, writes each
finished one into the knowledge base immediately (a short connection per write, none held while a
model trains), scores it for the searcher (higher is better; failed and diverged runs score
worst), and keeps the learning curves the pruner compares new trials against.

Trial ids are derived from (study id, trial number), and a trial's number is the count of the
study's runs logged before it, so a study resumed from the knowledge base after a crash continues
with the next number: no trial is lost (the budget is completed) and none is stored twice.

With `persist=False` (the Optuna sampler's default) nothing is written: the searcher still learns
every told trial, and the study's record lives in memory only.

Black-box objectives: a study needs no dataset file. It is then stored under a dataset record
named by the user (`name`) whose id is `blackbox-<hash of the name>`, with zero rows and features;
meta-features are stored only if given, so runs without them never enter the surrogate's
training set.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from hpo_common.errors import InputError
from knowledge_base import (
    METRICS,
    STATUSES,
    CurvePoint,
    DatasetRecord,
    KnowledgeBase,
    RunRecord,
    StudyRecord,
    new_run_id,
    stable_run_id,
)
from recommender.search import BasePruner, Searcher
from recommender.space import SearchSpace
from training import TrainConfig, TrainResult

FAILED = ("diverged", "failed")


def blackbox_dataset(name: str, task: str = "regression") -> DatasetRecord:
    """The dataset record a black-box study is stored under (see the module docstring)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return DatasetRecord(id=f"blackbox-{digest}", name=name, task=task, n_rows=0, n_features=0)


class Study:
    """Ask for configurations, tell their outcome; each told trial lands in the KB at once.

    Build one with `create_study` (or `Recommender.study`).

    Example:
        >>> study = Recommender(kb="kb.duckdb").study("data.csv", target="y")  # doctest: +SKIP
        >>> cfg = study.ask()  # doctest: +SKIP
        >>> study.tell(cfg, value=0.93)  # doctest: +SKIP
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        record: StudyRecord,
        space: SearchSpace,
        searcher: Searcher,
        *,
        pruner: BasePruner | None = None,
        max_epochs: int | None = None,
        persist: bool = True,
    ) -> None:
        self.kb = kb
        self.persist = persist
        self.record = record
        self.space = space
        self.searcher = searcher
        self.pruner = pruner
        self.max_epochs = max_epochs
        self.objective = record.objective or "value"
        self.direction = record.direction or "maximize"
        self.counts: Counter[str] = Counter()
        self.best: RunRecord | None = None
        self._curves: list[tuple[float, ...]] = []
        self.n_trials = 0

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def dataset_id(self) -> str:
        return self.record.dataset_id

    # ---- ask / tell ---------------------------------------------------------------------------
    def ask(self) -> dict[str, Any] | None:
        """The next configuration (the space's active hyperparameters), or None when the strategy
        has nothing new (the `portfolio` strategy after its suggestions)."""
        return self.searcher.ask()

    def train_config(self, config: Mapping[str, Any]) -> TrainConfig:
        """The full `TrainConfig` of an asked configuration (defaults elsewhere, epochs capped)."""
        full = TrainConfig.from_dict(dict(config))
        if self.max_epochs is not None and full.max_epochs > self.max_epochs:
            full = full.replace(max_epochs=self.max_epochs)
        return full

    def epoch_callback(self, config: Mapping[str, Any] | None = None) -> Any:
        """The pruner's per-epoch callback for a trial of `config` (None without a pruner)."""
        if self.pruner is None:
            return None
        return self.pruner.callback(self._curves, self.direction, config)

    def tell(
        self,
        config: Mapping[str, Any],
        value: float | None = None,
        status: str = "ok",
        curve: Sequence[Any] | None = None,
        result: TrainResult | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """Record a finished trial: either a `training.TrainResult`, or a value you measured.

        Args:
            config: the configuration tried (as asked, or any configuration of the space).
            value: the objective's value (required for status "ok").
            status: "ok", "pruned", "diverged" or "failed".
            curve: per-epoch objective values (floats) or `EpochStats`-like points.
            result: a `TrainResult` of `training.train` (then value/status/curve come from it).
            extra: stored with the configuration, not a parameter (its `config_extra`): e.g. a
                PBT member's schedule under `knowledge_base.SCHEDULE_KEY`.

        Returns:
            The stored `RunRecord`.
        """
        run_id = self.trial_run_id(self.n_trials)
        if result is not None:
            record = RunRecord.from_result(
                result, dataset_id=self.dataset_id, study_id=self.id, source="tune", run_id=run_id
            )
        else:
            record = self._told_record(config, value, status, curve, run_id)
        if extra:
            record = replace(record, config={**record.config, **extra})
        if self.persist:
            self.kb.log_run(record)
        self._learn([record])
        return record

    def trial_run_id(self, trial: int) -> str:
        """The run id of this study's trial number `trial` (0-based), told or not yet."""
        return stable_run_id(self.dataset_id, {}, study_id=self.id, trial=trial)

    def tell_many(self, history: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[RunRecord]:
        """Record many finished trials at once (history from elsewhere) in one transaction.

        Args:
            history: a DataFrame, or records (dicts), with one row per trial: the space's
                parameters (NaN/None or absent where inactive), `value`, and optionally `status`
                (default "ok"). Any other column is an error, so a misspelt parameter is never
                stored as a different one.

        Returns:
            The stored `RunRecord`s, in order; the searcher has learnt every one.

        Example:
            >>> history = [{"C": 1.0, "value": 0.91}, {"C": 10.0, "value": 0.94}]
            >>> records = study.tell_many(history)  # doctest: +SKIP
        """
        frame = (
            history
            if isinstance(history, pd.DataFrame)
            else pd.DataFrame.from_records(list(history))
        )
        unknown = sorted(set(frame.columns) - set(self.space.names) - {"value", "status"})
        if unknown or "value" not in frame:
            raise InputError(
                f"tell_many: unknown column(s) {', '.join(map(str, unknown)) or '(none)'}"
                f"{'' if 'value' in frame else ' and no value column'}; rows hold this space's "
                f"parameters ({', '.join(self.space.names)}), value and optionally status"
            )
        if "status" not in frame:
            frame = frame.assign(status="ok")
        records: list[RunRecord] = []
        kinds = [(name, dist.kind) for name, dist in self.space.parameters.items() if name in frame]
        for row, told in enumerate(frame.to_dict("records")):
            plain = {name: _plain(told[name], kind) for name, kind in kinds}
            config = {name: value for name, value in plain.items() if value is not None}
            run_id = self.trial_run_id(self.n_trials + row)
            try:
                records.append(
                    self._told_record(config, told["value"], told["status"], None, run_id)
                )
            except InputError as exc:
                raise InputError(f"tell_many: row {row}: {exc}") from None
        if self.persist:
            self.kb.log_runs(records)
        self._learn(records)
        return records

    def _told_record(
        self,
        config: Mapping[str, Any],
        value: float | None,
        status: str,
        curve: Sequence[Any] | None,
        run_id: str,
    ) -> RunRecord:
        if status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}, but got {status!r}")
        if status == "ok" and (value is None or not math.isfinite(float(value))):
            raise InputError(f"a trial with status 'ok' needs a finite value, but got {value!r}")
        points = tuple(_curve_point(i, p) for i, p in enumerate(curve or (), start=1))
        finite = [p for p in points if math.isfinite(p.val_metric)]
        sign = 1.0 if self.direction == "maximize" else -1.0
        best = max(finite, key=lambda p: sign * p.val_metric) if finite else None
        value = float("nan") if value is None else float(value)
        return RunRecord(
            dataset_id=self.dataset_id,
            config=dict(config),
            objective=self.objective,
            direction=self.direction,
            value=value,
            status=status,
            metrics={self.objective: value} if self.objective in METRICS else {},
            best_epoch=best.epoch if best is not None else 0,
            epochs_run=len(points),
            curve=points,
            study_id=self.id,
            source="tune",
            id=run_id,
        )

    def _learn(self, records: Sequence[RunRecord]) -> None:
        """Update counts, best, curves and the searcher (in one batch) with stored trials."""
        sign = 1.0 if self.direction == "maximize" else -1.0
        scores = []
        for record in records:
            self.n_trials += 1
            self.counts[record.status] += 1
            value = self._searcher_value(record, sign)
            usable = record.status not in FAILED and math.isfinite(value)
            scores.append(sign * value if usable else float("nan"))
            if record.status not in FAILED and record.curve:
                self._curves.append(tuple(p.val_metric for p in record.curve))
            if (
                record.status == "ok"
                and usable
                and (self.best is None or sign * record.value > sign * self.best.value)
            ):
                self.best = record
        self.searcher.observe_many([r.config for r in records], scores)  # it projects them

    def _searcher_value(self, record: RunRecord, sign: float) -> float:
        """The value the searcher learns: a pruned trial's is censored (its pruner's
        `censored_value`: the optimistic bound of the rule that stopped it, judged against the
        study's earlier curves, not the partial value); the KB keeps the value actually reached."""
        if record.status != "pruned" or self.pruner is None or not record.curve:
            return record.value
        curve = [p.val_metric for p in record.curve]
        told = self.pruner.for_trial(record.config).censored_value(curve, self._curves, sign)
        return record.value if told is None else told

    def replay(self) -> int:
        """Feed this study's runs already in the KB to the searcher (resume); return how many."""
        runs = self.kb.runs(study_id=self.id)
        self._learn([self.kb.get_run(run_id) for run_id in runs["id"]])
        return len(runs)

    # ---- summary ------------------------------------------------------------------------------
    def finish(self, status: str = "finished") -> StudyRecord:
        """Mark the study finished (or "interrupted"/"failed") in the KB (in memory only without
        `persist`)."""
        if self.persist:
            self.record = self.kb.finish_study(self.id, status)
        else:
            self.record = replace(self.record, finished=datetime.now(UTC), status=status)
        return self.record

    def trials(self) -> pd.DataFrame:
        """This study's runs from the KB, oldest first, numbered from 0 in column `trial` (none
        without `persist`)."""
        frame = self.kb.runs(study_id=self.id)
        frame.insert(0, "trial", np.arange(len(frame)))
        return frame


def _plain(value: Any, kind: str) -> Any:
    """A told value as a plain Python one (numpy scalars unwrapped, a whole float of an int
    parameter an int: a column with gaps is float); None for NaN or None (inactive)."""
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _curve_point(epoch: int, point: Any) -> CurvePoint:
    if isinstance(point, (int, float, np.floating, np.integer)):
        return CurvePoint(epoch, math.nan, math.nan, float(point), math.nan)
    return CurvePoint(
        int(getattr(point, "epoch", epoch)),
        float(getattr(point, "train_loss", math.nan)),
        float(getattr(point, "val_loss", math.nan)),
        float(point.val_metric),
        float(getattr(point, "lr", math.nan)),
    )


def resumable(kb: KnowledgeBase, study_id: str, dataset: DatasetRecord) -> StudyRecord:
    """The record of study `study_id` of `kb`, once checked to be about `dataset`."""
    record = kb.get_study(study_id)
    if record.dataset_id != dataset.id:
        raise InputError(
            f"study {study_id} was run on dataset {record.dataset_id}, but the data given is "
            f"{dataset.id} ({dataset.name}); pass the study's own data to resume it"
        )
    return record


def create_study(
    kb: KnowledgeBase,
    space: SearchSpace,
    dataset: DatasetRecord,
    *,
    searcher: Searcher,
    pruner: BasePruner | None = None,
    meta_features: Mapping[str, float] | None = None,
    objective: str = "value",
    direction: str = "maximize",
    budget: int | None = None,
    max_epochs: int | None = None,
    resume: StudyRecord | None = None,
    persist: bool = True,
) -> Study:
    """Start (or continue the study `resume`) on `dataset` with these components; return it.

    Names become components in `recommender._wiring.open_study` (which `Recommender.study` and
    `tune` call); here everything is an object.

    Args:
        kb: where the dataset, the study and every trial are stored.
        space: the search space, the same the searcher proposes from.
        dataset: the dataset record (`DatasetRecord.from_table`, or `blackbox_dataset`).
        searcher: proposes the configurations (`recommender.search.Searcher`); its `name` is
            stored with the study.
        pruner: stops bad trials early (`recommender.search.BasePruner`); None never stops.
        meta_features: the dataset's meta-features (None: unknown, e.g. a black-box objective).
        objective, direction: what the trials' values measure.
        budget: trials planned (stored with the study).
        max_epochs: caps every trial's epochs (`Study.train_config`).
        resume: a study record of `kb` (`resumable`) to continue: its logged trials are
            replayed to the searcher.
        persist: write the dataset, the study and every told trial into `kb`; False keeps the
            study in memory (the searcher still learns each trial; `kb` is only read).
    """
    if resume is not None:
        record = resume
    elif not persist:
        record = StudyRecord(
            id=new_run_id(),
            dataset_id=dataset.id,
            strategy=searcher.name,
            budget=budget,
            objective=objective,
            direction=direction,
            space=space.to_dict(),
        )
    else:
        kb.add_dataset(dataset)
        if meta_features:
            kb.set_meta_features(dataset.id, dict(meta_features))
        record = kb.start_study(
            dataset.id,
            searcher.name,
            budget=budget,
            objective=objective,
            direction=direction,
            space=space.to_dict(),
        )
    study = Study(
        kb, record, space, searcher, pruner=pruner, max_epochs=max_epochs, persist=persist
    )
    study.replay()
    return study
