"""Population-based training (Jaderberg et al. 2017, "Population Based Training of Neural
Networks") over the knowledge base's suggestions.

A population is several *sub-populations*, each one architecture: a lead configuration (first
the KB's suggestions, later the evolution of the best trials, as `EvolutionSearcher`) and
variants of it that differ only in learning rate, weight decay and dropout. A sub-population
trains as one stacked model (`training.train_population`); every `ready` epochs its bottom
`quantile` copy the weights, optimizer state and hyperparameters of a random member of its top
`quantile` (exploit) and move learning rate, weight decay and dropout by x0.8 or x1.25, or
redraw one from the prior with probability `resample` (explore), always inside the space.

Why one architecture per sub-population, and exploit inside it only: copying weights needs
equal shapes (depth, width, batch norm, activation, ensemble size, embeddings), the same
optimizer (its state) and the same data recipe, so members of different architectures cannot
exploit each other. Restricting exploit to a mixed population's shape groups would leave most
KB suggestions (which differ in architecture) in groups of one, with no partner to copy;
building each group around one suggestion keeps the KB's architectural diversity across
sub-populations and gives PBT a real population inside each.

`tune` trains the populations (`recommender.tune.run_study`); through plain ask/tell (a study of
your own training loop) `ask` proposes as `EvolutionSearcher` does, since nothing trains the
members together there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_common.errors import InputError
from recommender.search._base import Config, config_key
from recommender.search._evolution import EvolutionSearcher
from recommender.space import Categorical, SearchSpace

#: The hyperparameters PBT moves during training; the rest stay the lead's.
EXPLORED = ("learning_rate", "weight_decay", "dropout")
FACTORS = (0.8, 1.25)
VARIANT_SCALE = 0.25  # spread of a sub-population's first variants, in the unit (log) scale


@dataclass
class PBTExploit:
    """The exploit/explore policy of one sub-population, called by `train_population`.

    Attributes:
        space: the bounds explore stays inside (a hyperparameter it lacks is never moved).
        direction: of the validation values the trainer reports.
        quantile: share of members that copy (the worst) and that are copied (the best).
        resample: probability of redrawing an explored value from the prior instead of scaling.
        seed: the policy's own random stream.
    """

    space: SearchSpace
    direction: str
    quantile: float = 0.25
    resample: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.quantile <= 0.5:
            raise InputError(f"`0 < quantile <= 0.5` must hold, but got (quantile={self.quantile})")
        self.rng = np.random.default_rng(self.seed)

    def __call__(
        self, epoch: int, values: Mapping[int, float], configs: Sequence[Any]
    ) -> list[tuple[int, int, Any]]:
        """(target, source, the target's new configuration) for each of the worst members."""
        sign = 1.0 if self.direction == "maximize" else -1.0
        score = {m: sign * v if math.isfinite(v) else -math.inf for m, v in values.items()}
        ranked = sorted(score, key=lambda m: (score[m], m))  # worst first
        k = max(1, int(len(ranked) * self.quantile))
        if len(ranked) < 2 * k:
            return []
        top = ranked[-k:]
        copies = []
        for target in ranked[:k]:
            source = int(self.rng.choice(top))
            copies.append((target, source, self.explore(configs[source])))
        return copies

    def explore(self, config: Any) -> Any:
        """`config` (a `TrainConfig`) with its `EXPLORED` values scaled or redrawn."""
        changes = {}
        for name in EXPLORED:
            dist = self.space.parameters.get(name)
            if dist is None or isinstance(dist, Categorical):
                continue
            if self.rng.random() < self.resample:
                value = dist.from_unit(self.rng.random(1))[0]
            else:
                value = getattr(config, name) * float(self.rng.choice(FACTORS))
            changes[name] = dist.nearest(value)
        return config.replace(**changes)


class PBTSearcher(EvolutionSearcher):
    """Proposes sub-populations (see the module docstring) and the policy that trains them.

    Args:
        space, points_to_evaluate, seed, population: as `EvolutionSearcher` (the warm-start
            points lead the first sub-populations; later leads evolve from the best trials).
        members: configurations per sub-population (one architecture).
        ready: epochs between two exploit steps.
        quantile, resample: as `PBTExploit`.
    """

    name = "pbt"

    def __init__(
        self,
        space: SearchSpace,
        *,
        points_to_evaluate: Sequence[Mapping[str, Any]] = (),
        seed: int = 0,
        population: int = 10,
        members: int = 5,
        ready: int = 4,
        quantile: float = 0.25,
        resample: float = 0.2,
    ) -> None:
        if members < 1 or ready < 1:
            raise InputError(
                f"`members >= 1` and `ready >= 1` must hold, but got (members={members}, "
                f"ready={ready})"
            )
        super().__init__(
            space,
            points_to_evaluate=points_to_evaluate,
            seed=seed,
            population=population,
            sample_size=min(3, population),
        )
        self.members, self.ready = members, ready
        self.quantile, self.resample = quantile, resample
        self._policies = 0

    def ask_population(self, size: int) -> list[Config]:
        """Up to `size` (at most `members`) configurations of one architecture: the next lead,
        then variants of its `EXPLORED` values; [] when the searcher has nothing new."""
        lead = self.ask()
        if lead is None:
            return []
        batch, explored = [lead], [n for n in EXPLORED if n in lead]
        for _ in range(20 * self.members):
            if len(batch) >= min(size, self.members) or not explored:
                break
            variant = dict(lead)
            for name in explored:
                variant[name] = self.space.parameters[name].perturb(
                    lead[name], self.rng, VARIANT_SCALE
                )
            if self.is_new(variant):
                self._seen.add(config_key(variant))
                batch.append(variant)
        return batch

    def policy(self, direction: str) -> PBTExploit:
        """A fresh exploit/explore policy for the next sub-population (its own seed)."""
        self._policies += 1
        return PBTExploit(
            self.space,
            direction,
            self.quantile,
            self.resample,
            seed=self.seed * 7919 + self._policies,
        )
