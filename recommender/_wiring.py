"""The composition root: the one place where names ("surrogate", "median", "ray") become objects.

Everything below takes objects: `create_study(searcher=..., pruner=...)`, `run_study(study,
executor)`. The user-facing entry points (`Recommender`, `tune`, the command line) take names and
come here, so a new strategy is one class plus one line in `make_searcher`, and a user may pass
their own `Searcher` or `BasePruner` instead of a name.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hpo_common.errors import InputError
from knowledge_base import METRICS, DatasetRecord, KnowledgeBase
from recommender.learn import (
    KBPrior,
    KBView,
    SourceModels,
    SurrogateFeatures,
    fitted_curve_model,
    fitted_sources,
    fitted_surrogate,
    greedy_portfolio,
    load_view,
    portfolio_candidates,
    rank_configs,
)
from recommender.search import (
    PRUNERS,
    BasePruner,
    EnvelopePruner,
    EvolutionSearcher,
    FlatPrior,
    GridSearcher,
    LearnedPruner,
    MedianPruner,
    PBTSearcher,
    PortfolioSearcher,
    Prior,
    RandomSearcher,
    Searcher,
    SuccessiveHalvingPruner,
    SurrogateSearcher,
    TransferPortfolio,
    TransferPrior,
    check_grid_size,
)
from recommender.search._curve_model import has_log_error
from recommender.settings import StudySettings, SurrogateSettings
from recommender.space import SearchSpace, cap_epochs, is_trainable
from recommender.study import Study, create_study, resumable

if TYPE_CHECKING:
    from recommender.executors import Executor, RayOptions
    from training import PreparedData

PRUNER_CLASSES: dict[str, type[BasePruner]] = {
    "envelope": EnvelopePruner,
    "median": MedianPruner,
    "asha": SuccessiveHalvingPruner,
}


@dataclass(frozen=True)
class WarmStart:
    """What a searcher may learn before its first trial: the KB and this dataset's place in it.

    Attributes:
        view: the KB snapshot (a benchmark passes one with the held-out dataset left out).
        meta_features: this dataset's (empty for a black-box objective without them).
        task: the dataset's task; the KB's runs of other tasks do not rank its configurations.
        cache_dir: where fitted KB surrogates are cached.
    """

    view: KBView
    meta_features: Mapping[str, float] = field(default_factory=dict)
    task: str = "regression"
    cache_dir: Path | None = None

    def unlearnable(self, space: SearchSpace) -> str | None:
        """Why the KB holds nothing a search of `space` can learn from; None when it does."""
        runs = self.view.runs
        if runs.empty:
            return "the knowledge base holds no runs"
        if not any(name in runs and runs[name].notna().any() for name in space.names):
            names = ", ".join(space.names)
            return f"none of its runs sets any of this space's parameters ({names})"
        return None

    def prior(self, space: SearchSpace, seed: int, members: int, transfer: bool = False) -> Prior:
        """The KB surrogate at this dataset's meta-features, or a flat prior on an empty KB.

        Past datasets also take part as one model each (`TransferPrior`, re-weighted by how well
        each ranks this dataset's trials) where no KB dataset has meta-features (black-box
        studies: the sources are then the only prior), and with `transfer` next to the
        surrogate (see `SurrogateSettings.transfer`).
        """
        if self.unlearnable(space) is not None:
            return FlatPrior()
        base: Prior | None = None
        if self.view.learnable_runs():
            surrogate = fitted_surrogate(self.view, space, self.cache_dir, seed=seed)
            base = KBPrior(surrogate, SurrogateFeatures(space), self.meta_features, members=members)
        use_sources = transfer or base is None
        sources = fitted_sources(self.view, space, self.cache_dir) if use_sources else None
        if sources is None or not sources.n_sources:
            return base or FlatPrior()
        return TransferPrior(sources, base, n_members=members, seed=seed)

    def suggestions(self, space: SearchSpace, top: int, seed: int) -> list[dict]:
        """The KB's `top` ranked configurations for this dataset (none for `top` 0, and none
        for a black-box space when the KB holds nothing to learn from); without meta-features,
        the greedy portfolio of configurations that were good across past datasets."""
        if not top or (self.unlearnable(space) is not None and not is_trainable(space)):
            return []
        if not self.meta_features:
            portfolio = greedy_portfolio(self.view, space, top, self.cache_dir)
            if portfolio:
                return portfolio
        ranked = rank_configs(
            self.view,
            space,
            dict(self.meta_features),
            self.task,
            top,
            seed=seed,
            cache_dir=self.cache_dir,
        )
        return [s.config for s in ranked]


def make_searcher(
    strategy: str | Searcher,
    space: SearchSpace,
    warm: WarmStart,
    *,
    warm_start: int = StudySettings.warm_start,
    budget: int | None = None,
    seed: int = StudySettings.seed,
    grid_limit: int = StudySettings.grid_limit,
    surrogate: SurrogateSettings | None = None,
) -> Searcher:
    """The searcher called `strategy` (see `recommender.search`), warm-started from `warm`.

    `warm_start` suggestions are tried first by "surrogate" (without meta-features, where the
    earlier studies alone are the prior, the transfer portfolio takes their place, re-weighted
    on each trial, until the study's own model outweighs the studies; `warm_start` 0 turns it
    off); "portfolio" tries max(this, budget) and nothing else; "evolution" and "pbt"
    start from max(this, the evolution population); "grid" and "random" use none. A `Searcher`
    object is returned as it is. `surrogate`: the settings of the KB's prior, the candidate
    pool and the populations (default `SurrogateSettings()`).
    """
    if isinstance(strategy, Searcher):
        return strategy
    surrogate = surrogate or SurrogateSettings()
    StudySettings(strategy=strategy, warm_start=warm_start)  # the names and ranges, checked
    if strategy == "random":
        return RandomSearcher(space, seed=seed)
    if strategy == "grid":
        check_grid_size(space, grid_limit)  # before the KB surrogate is fitted
        # The grid ranks its cells once, before any trial: no trials to re-weight sources on.
        prior = warm.prior(space, seed, surrogate.prior_members)
        return GridSearcher(space, prior=prior, seed=seed, max_cells=grid_limit)
    if strategy == "portfolio":
        points = warm.suggestions(space, max(warm_start, budget or 0), seed)
        return PortfolioSearcher(space, points_to_evaluate=points, seed=seed)
    if strategy in ("evolution", "pbt"):
        population = surrogate.evolution_population
        points = warm.suggestions(space, max(warm_start, population), seed)
        if strategy == "evolution":
            return EvolutionSearcher(
                space, points_to_evaluate=points, seed=seed, population=population
            )
        return PBTSearcher(
            space,
            points_to_evaluate=points,
            seed=seed,
            population=population,
            members=surrogate.pbt_members,
            ready=surrogate.pbt_ready,
        )
    prior = warm.prior(space, seed, surrogate.prior_members, transfer=surrogate.transfer)
    portfolio = _transfer_portfolio(prior, space) if warm_start else None
    points = warm.suggestions(space, warm_start, seed) if portfolio is None else []
    return SurrogateSearcher(
        space,
        prior=prior,
        points_to_evaluate=points,
        seed=seed,
        n_candidates=surrogate.n_candidates,
        portfolio=portfolio,
    )


def _transfer_portfolio(prior: Prior, space: SearchSpace) -> TransferPortfolio | None:
    """Without meta-features (a prior of earlier studies alone), the warm start is the greedy
    portfolio across them, run two members at a time in the order the study's own trials favour,
    then continued on those trials' evidence (it proposes until the own model outweighs the
    studies or nothing gains); None where there is no such prior or nothing to propose."""
    if not isinstance(prior, TransferPrior) or prior.base is not None:
        return None
    if not isinstance(prior.sources, SourceModels):
        return None
    candidates = portfolio_candidates(prior.sources, space)
    if not candidates:
        return None
    return TransferPortfolio(prior, candidates, space.encode(candidates))


def make_pruner(
    pruner: str | BasePruner | None,
    *,
    kb: KnowledgeBase | None = None,
    view: KBView | None = None,
    objective: str = "value",
    cache_dir: Path | None = None,
) -> BasePruner | None:
    """The pruner called `pruner` ("learned", "envelope", "median", "asha") with its default
    settings; None for None or "none"; a `BasePruner` object as it is.

    "learned" reads the curves of `view`'s runs from `kb` (its curve model is cached in
    `cache_dir`); without them, or for an objective it cannot judge, it judges trials by the
    study's own curves (`EnvelopePruner`).
    """
    if pruner is None or isinstance(pruner, BasePruner):
        return pruner
    if pruner == "none":
        return None
    if pruner == "learned":
        model = None
        if kb is not None and view is not None and has_log_error(objective):
            model = fitted_curve_model(view, kb, cache_dir)
        return LearnedPruner(model, objective)
    if pruner not in PRUNER_CLASSES:
        raise InputError(f"pruner must be one of {', '.join(PRUNERS)}, but got {pruner!r}")
    return PRUNER_CLASSES[pruner]()


def make_executor(
    data: PreparedData,
    workers: int = 1,
    *,
    device: str = "auto",
    seed: int = 0,
    metric: str | None = None,
    ray: RayOptions | None = None,
) -> Executor:
    """Ray tasks when `ray` options are given; else sequential for one worker, worker processes
    for more."""
    # Here, not at the top: the executors load torch, which `suggest` and `kb` never need.
    from recommender.executors import ProcessExecutor, RayExecutor, SequentialExecutor

    if ray is not None:
        return RayExecutor(data, ray, workers=workers, device=device, seed=seed, metric=metric)
    if workers <= 1:
        return SequentialExecutor(data, device=device, seed=seed, metric=metric)
    return ProcessExecutor(data, workers, device=device, seed=seed, metric=metric)


def open_study(
    kb: KnowledgeBase,
    space: SearchSpace,
    dataset: DatasetRecord,
    *,
    meta_features: Mapping[str, float] | None = None,
    objective: str = "value",
    direction: str = "maximize",
    strategy: str | Searcher = StudySettings.strategy,
    warm_start: int = StudySettings.warm_start,
    budget: int | None = None,
    pruner: str | BasePruner | None = None,
    seed: int = StudySettings.seed,
    max_epochs: int | None = None,
    resume: str | None = None,
    view: KBView | None = None,
    cache_dir: Path | None = None,
    grid_limit: int = StudySettings.grid_limit,
    persist: bool = True,
) -> Study:
    """Start (or, with `resume=STUDY_ID`, continue) a study on `dataset`, its components named.

    The arguments are `create_study`'s, with `strategy` and `pruner` as names (or objects);
    `warm_start`, `view`, `cache_dir` and `grid_limit` say how a named searcher is built (see
    `make_searcher`). `max_epochs` caps the space's `max_epochs` of a new study. The searcher is
    built before anything is written, so a failure leaves no `running` study behind; with
    `persist=False` nothing is written at all (see `create_study`).
    """
    record = resumable(kb, resume, dataset) if resume is not None else None
    if record is not None:  # the space, strategy and budget it was started with
        space = SearchSpace.from_dict(record.space) if record.space else space
        strategy, budget = record.strategy, record.budget
    else:
        space = cap_epochs(space, max_epochs)
    if view is None:
        view = load_view(kb, objective if objective in METRICS else None)
    features = dict(meta_features or {})
    warm = WarmStart(view, features, dataset.task, cache_dir)
    learns = record is None and isinstance(strategy, str) and strategy != "random"
    reason = warm.unlearnable(space) if learns else None
    if reason is not None:  # once, when the study starts
        warnings.warn(
            f"this study learns nothing from the knowledge base: {reason}",
            UserWarning,
            stacklevel=3,
        )
    searcher = make_searcher(
        strategy,
        space,
        warm,
        warm_start=warm_start,
        budget=budget,
        seed=seed,
        grid_limit=grid_limit,
    )
    return create_study(
        kb,
        space,
        dataset,
        searcher=searcher,
        pruner=make_pruner(pruner, kb=kb, view=view, objective=objective, cache_dir=cache_dir),
        meta_features=features,
        objective=objective,
        direction=direction,
        budget=budget,
        max_epochs=max_epochs,
        resume=record,
        persist=persist,
    )
