"""Regularized (aging) evolution (Real et al. 2019, "Regularized Evolution for Image Classifier
Architecture Search").

The first population is the knowledge base's suggestions (`points_to_evaluate`), topped up with
prior samples. After that, each `ask` draws `sample_size` members from the population (the
`population` most recently observed trials: the oldest dies whatever its score, which keeps a
lucky early trial from ruling forever), takes the best of them as parent and mutates one
parameter. Mutation respects the conditions: a parameter that becomes active draws from the prior,
one that becomes inactive is dropped.

Chosen over CMA-ES because the space is mostly categorical and conditional (optimizer-dependent
momentum and betas): CMA-ES needs a continuous, unconditional encoding, while a one-parameter
mutation works on the space as it is and needs no model fit per `ask`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpo_common.errors import InputError
from recommender.search._base import Config, Searcher
from recommender.space import Categorical, SearchSpace


class EvolutionSearcher(Searcher):
    """Tournament selection among the youngest trials, one-parameter mutation of the winner.

    Args:
        space, points_to_evaluate, seed: as `Searcher`; the warm-start points are the first
            population (pass `population` of them).
        population: how many of the most recent trials are alive.
        sample_size: tournament size (larger: greedier).
        scale: width of a numeric mutation in the parameter's unit (log) scale.
    """

    name = "evolution"

    def __init__(
        self, space: SearchSpace, *, points_to_evaluate: Sequence[Mapping[str, Any]] = (),
        seed: int = 0, population: int = 10, sample_size: int = 3, scale: float = 0.25,
    ) -> None:
        if not 1 <= sample_size <= population:
            raise InputError(
                "`1 <= sample_size <= population` must hold, but got "
                f"(sample_size={sample_size}, population={population})"
            )
        super().__init__(space, points_to_evaluate=points_to_evaluate, seed=seed)
        self.population = population
        self.sample_size = sample_size
        self.scale = scale

    def _suggest(self) -> Config | None:
        if len(self.configs) < self.population:
            return self._random_new()
        alive = np.arange(len(self.configs) - self.population, len(self.configs))
        scores = np.nan_to_num(np.asarray(self.scores)[alive], nan=-np.inf)
        contestants = self.rng.choice(len(alive), size=self.sample_size, replace=False)
        if not np.isfinite(scores[contestants]).any():
            return self._random_new()  # nothing but failures to learn from
        parent = self.configs[int(alive[contestants[np.argmax(scores[contestants])]])]
        for _ in range(20):  # a mutation may land on a configuration already tried
            child = self.mutate(parent)
            if self.is_new(child):
                return child
        return self._random_new()

    def mutate(self, config: Mapping[str, Any]) -> Config:
        """`config` with one active parameter changed (a categorical always to another choice)."""
        parameters = self.space.parameters
        name = str(self.rng.choice(list(config)))
        dist = parameters[name]
        scale = 1.0 if isinstance(dist, Categorical) else self.scale
        child = {**config, name: dist.perturb(config[name], self.rng, scale)}
        added = True
        while added:  # newly active parameters (children of a changed choice) from the prior
            missing = [n for n in self.space.names
                       if n not in child and self.space.is_active(n, child)]
            for n in missing:
                child[n] = parameters[n].from_unit(self.rng.random(1))[0]
            added = bool(missing)
        return self.space.project(child)
