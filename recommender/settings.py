"""Every recommender default, written once, with why (cli, api, tune, study and integrations
read them here).

Frozen dataclasses: a `TuneSettings()` is the defaults a user gets; `TuneSettings(budget=50)` is
one changed and checked at once. The command line's option defaults are these fields
(`TuneSettings.budget`), so `--help` shows the same numbers the library uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpo_common.errors import InputError
from recommender.search import DEFAULT_MAX_CELLS, PRUNERS, STRATEGIES


@dataclass(frozen=True)
class StudySettings:
    """How a study searches (ask/tell, `Recommender.study`, and each `tune`).

    Attributes:
        strategy: "surrogate": the KB's suggestions, then expected improvement on the KB
            surrogate corrected by this dataset's trials; the others are baselines or special
            cases (see `recommender.search`).
        warm_start: 5 suggestions first, as `suggest` shows by default (`--top 5`), leaving
            three quarters of the default budget to the search.
        pruner: "learned" for tune and study alike (a study's pruner acts only through
            `Study.epoch_callback`): it stops a trial only when the knowledge base's curve model
            says even an optimistic continuation cannot reach the best trial so far, which on
            the real-size benchmark saves epochs without costing regret (README, "Search
            quality"); the median rule stopped most trials by epoch 3.
        seed: 0, so two runs of the same command propose the same configurations.
        grid_limit: cells the "grid" strategy accepts before the user must raise it.
    """

    strategy: str = "surrogate"
    warm_start: int = 5
    pruner: str | None = "learned"
    seed: int = 0
    grid_limit: int = DEFAULT_MAX_CELLS

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InputError(
                f"strategy must be one of {', '.join(STRATEGIES)}, but got {self.strategy!r}"
            )
        if self.warm_start < 0:
            raise InputError(f"warm_start must be >= 0, but got {self.warm_start}")
        if self.pruner is not None and self.pruner not in PRUNERS:
            raise InputError(f"pruner must be one of {', '.join(PRUNERS)}, but got {self.pruner!r}")


@dataclass(frozen=True)
class TuneSettings(StudySettings):
    """What `tune` (and `hpo-recommend tune`) runs, besides the study's search settings.

    Attributes:
        budget: 20 trials, the budget the search-quality benchmark compares strategies at.
        timeout: none: a budget alone ends a study.
        workers: 1: trains in this process; more only when the machine has cores to spare.
        device: "auto": CUDA, else Apple MPS, else CPU.
        batch: 1: under a budget of trials, batches (`training.train_many`) found less per
            trial on the search-quality benchmark; they pay in wall time (README).
    """

    budget: int | None = 20
    timeout: float | None = None
    workers: int = 1
    device: str = "auto"
    batch: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.budget is None and self.timeout is None:
            raise InputError("give a budget (trials) or a timeout (seconds), or both")
        if self.budget is not None and self.budget < 1:
            raise InputError(f"budget must be >= 1 trial, but got {self.budget}")
        if self.timeout is not None and self.timeout <= 0:
            raise InputError(f"timeout must be > 0 seconds, but got {self.timeout}")
        if self.workers < 1:
            raise InputError(f"workers must be >= 1, but got {self.workers}")
        if self.batch < 1:
            raise InputError(f"batch must be >= 1 configuration, but got {self.batch}")


@dataclass(frozen=True)
class SurrogateSettings:
    """How the KB surrogate is used (its own LightGBM settings are `learn.Surrogate`'s).

    Attributes:
        n_candidates: space samples ranked per zero-shot `suggest` and per surrogate `ask`
            (the measured figures in the README's suggest and search-overhead sections use it).
        prior_members: surrogate members a search corrects on every `ask` (`KBPrior`); the
            trials it observes steady its ranking, so 5 of the 20 suffice.
        evolution_population: the first population of "evolution": the KB's 10 best suggestions.
        pbt_members: configurations per "pbt" sub-population (one architecture, trained
            together): 5, so a 20-trial budget tries 4 architectures and each population has a
            worst member to replace and a best to copy (quantile 0.25 of 5 is one each).
        pbt_ready: epochs between two exploit steps of "pbt": 4, so even the shortest trials of
            the default space (20 epochs) are exploited a few times.
        transfer: False: "surrogate" searches on the meta-feature surrogate alone where the KB
            has meta-features; on the seed-KB replay (README, "Transfer that adapts") weighing one
            model per past dataset by how well it ranks this dataset's trials
            (`search.TransferPrior`) next to it was worse at 10 and 20 trials (0.060 and 0.054
            against 0.044 and 0.023). True turns it on. A KB without meta-features always uses
            the per-dataset models, and a study without meta-features always starts from the
            greedy portfolio across past datasets.
    """

    n_candidates: int = 1000
    prior_members: int = 5
    evolution_population: int = 10
    pbt_members: int = 5
    pbt_ready: int = 4
    transfer: bool = False
