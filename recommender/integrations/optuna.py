"""`RecommenderSampler`: the recommender inside a user's own Optuna study.

It proposes the warm-start suggestions of `suggest` first, then configurations ranked by the
surrogate, fitted on the knowledge base plus this study's finished trials (weighted up). Each
proposal is a whole configuration chosen when a trial starts; when the objective asks for a
parameter, the sampler answers with the proposal's value mapped onto the study's own
distribution (clipped to its range, snapped to its step or nearest choice). Parameters the
recommender does not know (names that are not `TrainConfig` fields), or values a distribution
cannot hold, come from an independent `RandomSampler`. With `log_to_kb=True` every finished trial
is stored in the knowledge base (with its intermediate values as the learning curve).

Example:
    >>> import optuna
    >>> sampler = RecommenderSampler(kb="kb.duckdb", dataset="data.csv")  # doctest: +SKIP
    >>> study = optuna.create_study(sampler=sampler)  # doctest: +SKIP
    >>> study.optimize(objective, n_trials=30)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.study import Study, StudyDirection
    from optuna.trial import FrozenTrial, TrialState
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "recommender.integrations.optuna needs optuna: pip install 'hpo-recommend[optuna]'"
    ) from exc

from hpo_common.errors import ConfigError, InputError
from knowledge_base import (
    CurvePoint,
    DatasetRecord,
    KnowledgeBase,
    RunRecord,
    stable_run_id,
)
from recommender._cache import meta_features_of
from recommender._kb import cache_dir_of
from recommender.api import DataSource, Recommender
from recommender.integrations._optuna_mapping import known_distributions, snap
from recommender.learn import (
    KBView,
    Surrogate,
    SurrogateFeatures,
    load_view,
    objective_for,
    study_scores,
)
from recommender.settings import StudySettings
from recommender.space import SearchSpace
from training import METRIC_DIRECTIONS, Table, TrainConfig

FIELDS = frozenset(TrainConfig.field_names())
STUDY_WEIGHT = 5.0  # one trial of this study counts like this many KB runs in the surrogate
EXPLORATION = 0.5  # acquisition = mean + EXPLORATION * std (upper confidence bound)
_STATUS = {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}


class RecommenderSampler(BaseSampler):
    """An Optuna sampler driven by the knowledge base (single-objective studies).

    Args:
        kb: knowledge-base file, `KnowledgeBase`, or None for the default location.
        dataset: the data the objective trains on (file, DataFrame or `training.Table`).
        target: its target column (default: the last).
        space: search-space file or `SearchSpace` the candidates come from (default space).
        warm_start: how many `suggest` configurations to try first.
        seed: makes proposals and the random fallback repeatable.
        objective: the metric the objective returns (default: the task's default metric);
            scores KB runs on the same metric, and names the value of logged trials.
        n_candidates: space samples ranked by the surrogate per proposal.
        log_to_kb: store each finished trial in the knowledge base.
    """

    def __init__(
        self,
        *,
        kb: str | Path | KnowledgeBase | None = None,
        dataset: DataSource,
        target: str | None = None,
        space: str | Path | SearchSpace | None = None,
        warm_start: int = StudySettings.warm_start,
        seed: int = 0,
        objective: str | None = None,
        n_candidates: int = 500,
        log_to_kb: bool = False,
    ) -> None:
        if warm_start < 0:
            raise InputError(f"warm_start must be >= 0, but got {warm_start}")
        if n_candidates < 1:
            raise InputError(f"n_candidates must be >= 1, but got {n_candidates}")
        self._recommender = Recommender(kb=kb, space=space)
        self.table: Table = self._recommender.table(dataset, target)
        self.objective = objective_for(self.table.task, objective) if (
            objective is None or objective in METRIC_DIRECTIONS
        ) else objective
        self.warm_start, self.seed, self.n_candidates = warm_start, seed, n_candidates
        self.log_to_kb = log_to_kb
        self.kb_study_id: str | None = None  # set when the first trial is logged
        self._random = RandomSampler(seed=seed)
        self._rng = np.random.default_rng([seed, 1])  # not the stream `suggest` samples
        self._queue: list[dict[str, Any]] | None = None  # warm-start configs, made on first use
        self._view: KBView | None = None
        self._features: dict[str, float] = {}
        self._kb_rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._proposals: dict[int, dict[str, Any]] = {}

    @property
    def space(self) -> SearchSpace:
        return self._recommender.space

    # ---- BaseSampler ------------------------------------------------------------------------
    def reseed_rng(self) -> None:
        self._random.reseed_rng()
        self._rng = np.random.default_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}  # each parameter is answered from the trial's proposal, as it is asked

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._raise_error_if_multi_objective(study)
        self._proposals[trial.number] = self._propose(study)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        proposal = self._proposals.get(trial.number, {})
        if param_name in proposal:
            value = snap(proposal[param_name], param_distribution)
            if value is not None:
                return value
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._proposals.pop(trial.number, None)
        if self.log_to_kb and state in _STATUS:
            value = values[0] if values else math.nan
            self._log(study, trial, _STATUS[state], value)

    # ---- proposals --------------------------------------------------------------------------
    def _propose(self, study: Study) -> dict[str, Any]:
        """The next whole configuration: a warm-start suggestion, else the surrogate's pick."""
        trials = study.get_trials(deepcopy=False)
        distributions = known_distributions(trials)
        tried = {_key(t.params, distributions) for t in trials if t.params}
        if self._queue is None:
            result = self._recommender.suggest(self.table, top=max(self.warm_start, 1),
                                               objective=self._kb_objective, seed=self.seed)
            self._queue = [s.config for s in result.suggestions[: self.warm_start]]
        while self._queue:
            config = self._queue.pop(0)
            if _key(_snapped(config, distributions), distributions) not in tried:
                return config
        return self._best_candidate(study, trials, distributions, tried)

    @property
    def _kb_objective(self) -> str | None:
        return self.objective if self.objective in METRIC_DIRECTIONS else None

    def _best_candidate(
        self,
        study: Study,
        trials: Sequence[FrozenTrial],
        distributions: dict[str, BaseDistribution],
        tried: set[str],
    ) -> dict[str, Any]:
        candidates = [
            _full(_snapped(c, distributions))
            for c in self.space.sample(self.n_candidates, self._rng)
        ]
        fresh = [c for c in candidates if _key(c, distributions) not in tried] or candidates
        surrogate = self._surrogate(study, trials)
        if surrogate is None:  # nothing to learn from yet: a random sample of the space
            return fresh[0]
        mean, std = surrogate.predict(self._features_of(fresh), return_std=True)
        return fresh[int(np.argmax(mean + EXPLORATION * std))]

    def _surrogate(self, study: Study, trials: Sequence[FrozenTrial]) -> Surrogate | None:
        """Fitted on the KB's runs plus this study's finished trials (weighted up); None while
        there are fewer than two runs to learn from."""
        view = self._kb_view()
        if self._kb_rows is None:  # the snapshot never changes: encode its runs once
            self._kb_rows = view.training_set(self.space)
        X, y, groups = self._kb_rows
        done = [t for t in trials if t.state in _STATUS]
        weight = np.ones(len(y))
        if done:
            values = [
                float(t.value) if t.state == TrialState.COMPLETE and t.value is not None
                else math.nan
                for t in done
            ]
            own_y = study_scores(values, _direction(study))
            own_X = self._features_of([_full(t.params) for t in done])
            X, y = np.vstack([X, own_X]), np.concatenate([y, own_y])
            groups = np.concatenate([groups, [self.table.fingerprint] * len(done)])
            weight = np.concatenate([weight, np.full(len(done), STUDY_WEIGHT)])
        if len(y) < 2:
            return None
        return Surrogate(n_models=3, n_estimators=100, seed=self.seed).fit(
            X, y, groups, categorical=SurrogateFeatures(self.space).categorical,
            sample_weight=weight,
        )

    def _kb_view(self) -> KBView:
        if self._view is None:
            kb = self._recommender.kb
            self._view = load_view(kb, self._kb_objective)
            self._features = meta_features_of(self.table, cache_dir_of(kb))
        return self._view

    def _features_of(self, configs: list[dict[str, Any]]) -> np.ndarray:
        self._kb_view()  # loads this table's meta-features with the snapshot
        return SurrogateFeatures(self.space).transform(self._features, configs)

    # ---- logging ----------------------------------------------------------------------------
    def _log(self, study: Study, trial: FrozenTrial, status: str, value: float) -> None:
        kb = self._recommender.kb
        dataset_id = self.table.fingerprint
        direction = _direction(study)
        if self.kb_study_id is None:
            kb.add_dataset(DatasetRecord.from_table(self.table))
            if kb.meta_features([dataset_id]).empty:
                kb.set_meta_features(dataset_id, meta_features_of(self.table, cache_dir_of(kb)))
            self.kb_study_id = kb.start_study(
                dataset_id, "optuna-recommender", objective=self.objective, direction=direction,
                space=self.space.to_dict(),
            ).id
        curve = tuple(
            CurvePoint(int(step), math.nan, math.nan, float(v), math.nan)
            for step, v in sorted(trial.intermediate_values.items())
        )
        config = dict(trial.params)
        metric_value = value if status in ("ok", "pruned") else math.nan
        if status == "pruned" and curve:
            metric_value = curve[-1].val_metric  # the last value it reported before pruning
        kb.log_run(RunRecord(
            dataset_id=dataset_id,
            config=config,
            objective=self.objective,
            direction=direction,
            value=metric_value,
            status=status,
            metrics={self.objective: metric_value} if (
                status == "ok" and self.objective in METRIC_DIRECTIONS) else {},
            best_epoch=0,
            epochs_run=len(curve),
            curve=curve,
            wall_seconds=trial.duration.total_seconds() if trial.duration else None,
            study_id=self.kb_study_id,
            source="tune",
            id=stable_run_id(dataset_id, config, optuna_study=study.study_name,
                             trial=trial.number),
        ))

    def finish(self, status: str = "finished") -> None:
        """Mark the knowledge-base study of the logged trials as ended (after `optimize`)."""
        if self.kb_study_id is not None:
            self._recommender.kb.finish_study(self.kb_study_id, status)


def _snapped(config: dict[str, Any], distributions: dict[str, BaseDistribution]) -> dict[str, Any]:
    """`config` with each value the study has a distribution for mapped onto it."""
    out = dict(config)
    for name, dist in distributions.items():
        if name in out:
            value = snap(out[name], dist)
            if value is not None:
                out[name] = value
    return out


def _full(params: dict[str, Any]) -> dict[str, Any]:
    """A whole `TrainConfig` dict from the parameters it names (defaults for the rest)."""
    known = {k: v for k, v in params.items() if k in FIELDS}
    try:
        return TrainConfig.from_dict(known).to_dict()
    except ConfigError:  # a study range TrainConfig rejects: encode what the trial used
        return known


def _key(params: dict[str, Any], distributions: dict[str, BaseDistribution]) -> str:
    """Identity of a configuration as the study sees it: the hyperparameters it has
    distributions for (all of them before the first trial has defined any); parameters the
    recommender does not propose are left out."""
    names = [name for name in (distributions or params) if name in FIELDS]
    return json.dumps({k: params.get(k) for k in sorted(names)}, default=str)


def _direction(study: Study) -> str:
    return "minimize" if study.direction == StudyDirection.MINIMIZE else "maximize"


__all__ = ["RecommenderSampler"]
