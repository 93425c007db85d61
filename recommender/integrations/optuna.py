"""`RecommenderSampler`: the recommender's search inside a user's own Optuna study.

An adapter over the study's searcher, the same one `tune` and `Recommender.study` use: when a
trial starts, the sampler asks a recommender `Study` (strategy "surrogate" by default: the
knowledge base's warm-start suggestions first, then expected improvement on the KB surrogate
corrected by this study's trials) for a whole configuration; when the objective asks for a
parameter, it answers with the proposal's value mapped onto the study's own distribution (clipped
to its range, snapped to its step or nearest choice). Parameters the proposal lacks (names outside
the search space, or inactive there), or values a distribution cannot hold, come from an
independent `RandomSampler`. When a trial ends, its value, status and intermediate values (its
learning curve) are told to the study, so the searcher learns it; with `log_to_kb=True` the study
also stores it in the knowledge base, as `tune` stores its trials.

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

try:
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.study import Study as OptunaStudy
    from optuna.study import StudyDirection
    from optuna.trial import FrozenTrial, TrialState
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "recommender.integrations.optuna needs optuna: pip install 'hpo-recommend[optuna]'"
    ) from exc

from knowledge_base import CurvePoint, KnowledgeBase
from recommender.api import DataSource, Recommender
from recommender.integrations._optuna_mapping import known_distributions, snap
from recommender.search import Searcher
from recommender.settings import StudySettings
from recommender.space import SearchSpace
from recommender.study import Study
from training import Table

_STATUS = {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}
_ASKS = 10  # proposals tried per trial before one the study has not run yet (after snapping)


class RecommenderSampler(BaseSampler):
    """An Optuna sampler driven by the recommender's search (single-objective studies).

    Args:
        kb: knowledge-base file, `KnowledgeBase`, or None for the default location.
        dataset: the data the objective trains on (file, DataFrame or `training.Table`).
        target: its target column (default: the last).
        space: search-space file or `SearchSpace` the proposals come from (default space).
        warm_start: how many KB suggestions to try first.
        seed: makes proposals and the random fallback repeatable.
        objective: the metric the objective returns (default: the task's default metric);
            scores KB runs on the same metric, and names the value of logged trials.
        strategy: the searcher (a name of `recommender.search`, or a `Searcher` object).
        log_to_kb: store each finished trial in the knowledge base; False (default) leaves the
            knowledge base as it was, while the search still learns every trial.
    """

    def __init__(
        self,
        *,
        kb: str | Path | KnowledgeBase | None = None,
        dataset: DataSource,
        target: str | None = None,
        space: str | Path | SearchSpace | None = None,
        warm_start: int = StudySettings.warm_start,
        seed: int = StudySettings.seed,
        objective: str | None = None,
        strategy: str | Searcher = StudySettings.strategy,
        log_to_kb: bool = False,
    ) -> None:
        StudySettings(warm_start=warm_start)  # a bad value fails here, not at the first trial
        self._recommender = Recommender(kb=kb, space=space)
        self.table: Table = self._recommender.table(dataset, target)
        self.objective, self.strategy = objective, strategy
        self.warm_start, self.seed, self.log_to_kb = warm_start, seed, log_to_kb
        self.study: Study | None = None  # opened at the first trial, once the direction is known
        self._random = RandomSampler(seed=seed)
        self._proposals: dict[int, dict[str, Any]] = {}

    @property
    def space(self) -> SearchSpace:
        return self._recommender.space

    @property
    def kb_study_id(self) -> str | None:
        """The knowledge-base study the trials are stored under (None until the first trial, and
        always without `log_to_kb`)."""
        return self.study.id if self.study is not None and self.log_to_kb else None

    # ---- BaseSampler ------------------------------------------------------------------------
    def reseed_rng(self) -> None:
        self._random.reseed_rng()

    def infer_relative_search_space(
        self, study: OptunaStudy, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}  # each parameter is answered from the trial's proposal, as it is asked

    def sample_relative(
        self, study: OptunaStudy, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def before_trial(self, study: OptunaStudy, trial: FrozenTrial) -> None:
        self._raise_error_if_multi_objective(study)
        self._proposals[trial.number] = self._propose(study)

    def sample_independent(
        self,
        study: OptunaStudy,
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
        study: OptunaStudy,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._proposals.pop(trial.number, None)
        if state not in _STATUS or self.study is None:
            return
        curve = [
            CurvePoint(int(step), math.nan, math.nan, float(v), math.nan)
            for step, v in sorted(trial.intermediate_values.items())
        ]
        value = values[0] if values else (curve[-1].val_metric if curve else math.nan)
        status = _STATUS[state]
        if status == "ok" and not math.isfinite(value):
            status = "diverged"  # Optuna completes a trial that returned inf
        self.study.tell(
            trial.params,
            value=value if status in ("ok", "pruned") else None,
            status=status,
            curve=curve,
        )

    def finish(self, status: str = "finished") -> None:
        """Mark the knowledge-base study of the logged trials as ended (after `optimize`)."""
        if self.study is not None:
            self.study.finish(status)

    # ---- proposals --------------------------------------------------------------------------
    def _propose(self, study: OptunaStudy) -> dict[str, Any]:
        """The searcher's next configuration that, on the study's distributions, is new."""
        searcher_study = self._open(study)
        trials = study.get_trials(deepcopy=False)
        distributions = known_distributions(trials)
        space = searcher_study.space.names
        names = [n for n in space if n in distributions] if distributions else list(space)
        tried = {_key(t.params, names) for t in trials if t.params}
        proposal: dict[str, Any] = {}
        for _ in range(_ASKS):
            proposal = searcher_study.ask() or {}
            if _key(_snapped(proposal, distributions), names) not in tried:
                break
        return proposal

    def _open(self, study: OptunaStudy) -> Study:
        if self.study is None:
            direction = "minimize" if study.direction == StudyDirection.MINIMIZE else "maximize"
            self.study = self._recommender.study(
                self.table,
                objective=self.objective,
                direction=direction,
                strategy=self.strategy,
                warm_start=self.warm_start,
                pruner=None,  # Optuna's pruner, if any, stops the user's trials
                seed=self.seed,
                persist=self.log_to_kb,
            )
        return self.study


def _snapped(config: dict[str, Any], distributions: dict[str, BaseDistribution]) -> dict[str, Any]:
    """`config` with each value the study has a distribution for mapped onto it."""
    out = dict(config)
    for name, dist in distributions.items():
        if name in out:
            value = snap(out[name], dist)
            if value is not None:
                out[name] = value
    return out


def _key(params: dict[str, Any], names: Sequence[str]) -> str:
    """Identity of a configuration as the study sees it: its values of `names` (the space's
    parameters the study has distributions for; parameters only the random fallback samples are
    left out)."""
    return json.dumps({k: params.get(k) for k in sorted(names)}, default=str)


__all__ = ["RecommenderSampler"]
