"""`Recommender`: the Python API, one object over a knowledge base and a search space.

Example:
    >>> from recommender import Recommender
    >>> rec = Recommender(kb="~/my_kb.duckdb")  # doctest: +SKIP
    >>> result = rec.suggest("data.csv", target="label", top=5)  # doctest: +SKIP
    >>> result.suggestions[0].config  # doctest: +SKIP
    >>> best = rec.tune("data.csv", target="label", budget=30).best_config  # doctest: +SKIP
    >>> study = rec.study(meta_features=None, name="my-objective")  # doctest: +SKIP
    >>> cfg = study.ask(); study.tell(cfg, value=0.93)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import pandas as pd

from hpo_common.errors import InputError
from knowledge_base import DatasetRecord, KnowledgeBase
from recommender._cache import meta_features_of
from recommender._kb import cache_dir_of, open_kb
from recommender.learn import objective_for
from recommender.settings import StudySettings, TuneSettings
from recommender.space import SearchSpace, check_trainable, default_space, load_space
from recommender.suggest import SuggestResult, suggest
from training import Table, check_splittable, load_table
from training.metrics import METRIC_DIRECTIONS

if TYPE_CHECKING:
    from recommender.executors import RayOptions
    from recommender.ingest import ImportReport
    from recommender.search import BasePruner, Searcher
    from recommender.study import Study
    from recommender.tune import TrialEvent, TrialLogger, TuneResult

DataSource: TypeAlias = str | Path | pd.DataFrame | Table


class Recommender:
    """Suggest, tune and log against one knowledge base.

    Args:
        kb: a KB file path, a `KnowledgeBase`, or None for the default location
            ($HPO_RECOMMEND_KB, else the per-user data folder). A new file is filled with the
            shipped seed runs.
        space: a search-space file or `SearchSpace`; None for the shipped default space.
    """

    def __init__(
        self,
        kb: str | Path | KnowledgeBase | None = None,
        space: str | Path | SearchSpace | None = None,
    ) -> None:
        self.kb = open_kb(kb)
        self.space = _space(space) or default_space()
        self._space_source = _source(space)

    def table(self, data: DataSource, target: str | None = None, task: str | None = None) -> Table:
        """Load `data` (a file, a DataFrame or an already loaded `Table`)."""
        if isinstance(data, Table):
            return data
        return load_table(data, target=target, task=task)

    def suggest(
        self,
        data: DataSource,
        target: str | None = None,
        *,
        top: int = 5,
        task: str | None = None,
        objective: str | None = None,
        seed: int = 0,
    ) -> SuggestResult:
        """Zero-shot recommendations for `data`, learned from every run in the knowledge base.

        `seed` drives the sampled candidates and the surrogate's fit (one fit per seed, cached).
        """
        table = self.table(data, target, task)
        check_splittable(table)  # configurations for data nothing can be trained on mislead
        check_trainable(self.space, self._space_source)
        cache_dir = cache_dir_of(self.kb)
        return suggest(
            table,
            self.kb,
            self.space,
            top=top,
            objective=objective,
            seed=seed,
            meta_features=meta_features_of(table, cache_dir),
            cache_dir=cache_dir,
        )

    def tune(
        self,
        data: DataSource,
        target: str | None = None,
        *,
        task: str | None = None,
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
        ray: RayOptions | None = None,
        mlflow: str | bool | None = None,
        mlflow_experiment: str | None = None,
        batch: int = TuneSettings.batch,
        grid_limit: int = TuneSettings.grid_limit,
    ) -> TuneResult:
        """Warm-started search with real training; every trial is logged into the KB.

        See `recommender.tune.tune` for the arguments. `mlflow` also logs each trial as an
        MLflow run (True or "default": MLflow's default tracking URI; else that URI) in experiment
        `mlflow_experiment` (default "hpo-recommend"); see `recommender.integrations.mlflow`.
        Returns the best configuration, its score, the trials as a DataFrame, the study id and
        the trials by status.
        """
        table = self.table(data, target, task)
        check_trainable(self.space, self._space_source)
        from recommender.tune import tune  # torch loads only when something trains

        return tune(
            table,
            self.kb,
            self.space,
            budget=budget,
            timeout=timeout,
            strategy=strategy,
            workers=workers,
            seed=seed,
            metric=metric,
            warm_start=warm_start,
            pruner=pruner,
            max_epochs=max_epochs,
            device=device,
            resume=resume,
            refit=refit,
            out=out,
            progress=progress,
            cache_dir=cache_dir_of(self.kb),
            ray=ray,
            loggers=_mlflow_logger(table, mlflow, mlflow_experiment),
            batch=batch,
            grid_limit=grid_limit,
        )

    def study(
        self,
        data: DataSource | None = None,
        target: str | None = None,
        *,
        task: str | None = None,
        meta_features: Mapping[str, float] | None = None,
        space: str | Path | SearchSpace | None = None,
        name: str | None = None,
        objective: str | None = None,
        direction: str | None = None,
        strategy: str | Searcher = StudySettings.strategy,
        warm_start: int = StudySettings.warm_start,
        budget: int | None = None,
        pruner: str | BasePruner | None = StudySettings.pruner,
        seed: int = StudySettings.seed,
        resume: str | None = None,
        persist: bool = True,
    ) -> Study:
        """An ask/tell study for your own training loop or any black-box objective.

        With `data`, the study is about that dataset (its meta-features warm-start the search,
        `objective` defaults to log_loss/r2). Without it, pass `name` (the study is stored under a
        dataset record `blackbox-<hash of name>`), optionally `meta_features` (a dict; stored so
        the knowledge base can learn from these runs), `objective` (default "value") and
        `direction` (default "maximize"). `strategy` and `pruner` are names (defaults:
        `recommender.settings.StudySettings`) or your own `Searcher` / `BasePruner` objects.
        `persist=False` writes nothing into the knowledge base (the search still learns each
        told trial; the Optuna sampler's `log_to_kb=False`).

        Example:
            >>> study = Recommender(kb=":memory:").study(name="toy")  # doctest: +SKIP
            >>> cfg = study.ask()  # doctest: +SKIP
            >>> record = study.tell(cfg, value=0.93)  # doctest: +SKIP
        """
        chosen = _space(space) or self.space
        if data is not None:  # the built-in trainer's names and values (a black box: any)
            check_trainable(chosen, _source(space) if space is not None else self._space_source)
            table = self.table(data, target, task)
            dataset = DatasetRecord.from_table(table)
            features = dict(meta_features or meta_features_of(table, cache_dir_of(self.kb)))
            objective = objective_for(table.task, objective)
            direction = direction or METRIC_DIRECTIONS[objective]
        else:
            if not name:
                raise InputError("a study without data needs a name (study(name=...))")
            from recommender.study import blackbox_dataset

            dataset = blackbox_dataset(name, task or "regression")
            features = dict(meta_features or {})
            objective = objective or "value"
            direction = direction or METRIC_DIRECTIONS.get(objective, "maximize")
        from recommender._wiring import open_study  # the search machinery: studies only

        return open_study(
            self.kb,
            chosen,
            dataset,
            meta_features=features,
            objective=objective,
            direction=direction,
            strategy=strategy,
            warm_start=warm_start,
            budget=budget,
            pruner=pruner,
            seed=seed,
            resume=resume,
            cache_dir=cache_dir_of(self.kb),
            persist=persist,
        )

    def log_runs(
        self,
        runs_file: str | Path | None = None,
        *,
        dataset: str | Path | Sequence[str | Path] | None = None,
        target: str | None = None,
        dataset_id: str | None = None,
        skip_invalid: bool = False,
        from_mlflow: str | None = None,
        experiment: str | None = None,
        metric: str | None = None,
        direction: str | None = None,
        name_map: Mapping[str, str] | None = None,
        dataset_tag: str | None = None,
        fill_defaults: bool = False,
    ) -> ImportReport:
        """Store runs trained elsewhere, validated first, like `hpo-recommend log`.

        The runs come from a CSV/JSONL `runs_file`, or from the finished runs of MLflow
        `experiment` at tracking URI `from_mlflow` (`metric`: the MLflow metric that is the
        objective; `name_map`: their name -> ours for params and metrics; `dataset_tag`: the
        tag or param telling each run's dataset among several `dataset` files). The dataset is
        a data file (`dataset`, with its `target`) or the id of one already in the knowledge
        base (`dataset_id`). See `recommender.ingest.import_runs` and
        `recommender.integrations.mlflow.import_mlflow_runs`.
        """
        if from_mlflow is not None:
            if runs_file is not None or not experiment:
                raise InputError("give either a runs file, or from_mlflow with an experiment")
            from recommender.integrations._mlflow_import import import_mlflow_runs

            return import_mlflow_runs(
                self.kb, from_mlflow, experiment, dataset=dataset, target=target,
                dataset_id=dataset_id, metric=metric, direction=direction,
                name_map=dict(name_map or {}), dataset_tag=dataset_tag,
                skip_invalid=skip_invalid,
            )
        mlflow_only = (experiment, metric, direction, name_map, dataset_tag)
        if runs_file is None or not isinstance(dataset, (str, Path, type(None))) or any(
            option is not None for option in mlflow_only
        ):
            raise InputError("give a runs file and at most one dataset file; several datasets, "
                             "experiment, metric, direction, name_map and dataset_tag go with "
                             "from_mlflow")
        from recommender.ingest import import_runs  # log only: suggest and tune never need it

        return import_runs(
            self.kb,
            runs_file,
            dataset=dataset,
            target=target,
            dataset_id=dataset_id,
            skip_invalid=skip_invalid,
            fill_defaults=fill_defaults,
        )


def _mlflow_logger(
    table: Table, uri: str | bool | None, experiment: str | None
) -> tuple[TrialLogger, ...]:
    """The MLflow logger `tune(mlflow=...)` asks for; mlflow is imported only then."""
    if uri is None or uri is False:
        if experiment is not None:
            raise InputError("an MLflow experiment name goes with mlflow=URI (--mlflow)")
        return ()
    try:
        from recommender.integrations.mlflow import DEFAULT_EXPERIMENT, MlflowLogger
    except ImportError as exc:
        raise InputError(str(exc)) from None
    return (MlflowLogger(None if uri is True or uri == "default" else str(uri),
                         experiment or DEFAULT_EXPERIMENT, dataset_name=table.name,
                         dataset_id=table.fingerprint),)


def _space(space: str | Path | SearchSpace | None) -> SearchSpace | None:
    if space is None or isinstance(space, SearchSpace):
        return space
    return load_space(space)


def _source(space: str | Path | SearchSpace | None) -> str:
    """How error messages name a space: its file, else "search space"."""
    return str(space) if isinstance(space, (str, Path)) else "search space"
