"""The ask/observe interface every search strategy implements.

A searcher proposes configurations (`ask`) and learns from finished trials (`observe`); it never
sees processes, training or the knowledge base. Warm-start configurations are a constructor
argument (`points_to_evaluate`, as in Syne Tune) and are proposed first, in order.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from recommender.space import SearchSpace

Config = dict[str, Any]


def config_key(config: Mapping[str, Any]) -> str:
    """A hashable identity of a configuration (exact values, key order ignored)."""
    return json.dumps(dict(config), sort_keys=True, default=str)


class Searcher(abc.ABC):
    """Base class: warm-start points first, then `_suggest`; no configuration twice.

    A subclass implements `_suggest` (its own next proposal, after the warm-start points) and
    names itself in `name` (stored with the study, and how `resume` rebuilds it).

    Args:
        space: where configurations come from; every proposal holds its active parameters only.
        points_to_evaluate: configurations to try first (projected onto `space`; ones outside
            it, e.g. a default ranking wider than a user's space, are left out).
        seed: makes the proposals repeatable.
    """

    name: ClassVar[str] = "custom"

    def __init__(
        self, space: SearchSpace, *, points_to_evaluate: Sequence[Mapping[str, Any]] = (),
        seed: int = 0,
    ) -> None:
        self.space = space
        projected = [space.project(p) for p in points_to_evaluate]
        self.points_to_evaluate = [p for p in projected if space.contains(p)]
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.configs: list[Config] = []  # observed, in order
        self.scores: list[float] = []  # higher is better; NaN for failed/diverged
        self._seen: set[str] = set()  # observed or handed out and not yet observed

    def ask(self) -> Config | None:
        """The next configuration to try, or None when the strategy has nothing new."""
        while self.points_to_evaluate:
            point = self.points_to_evaluate.pop(0)
            if config_key(point) not in self._seen:
                self._seen.add(config_key(point))
                return point
        config = self._suggest()
        if config is not None:
            self._seen.add(config_key(config))
        return config

    def observe(self, config: Mapping[str, Any], score: float) -> None:
        """Learn a finished trial: `score` is higher-is-better, NaN when it failed or diverged."""
        projected = self.space.project(config)
        self._seen.add(config_key(projected))
        self.configs.append(projected)
        self.scores.append(float(score))

    def is_new(self, config: Mapping[str, Any]) -> bool:
        """Whether `config` has been neither observed nor handed out."""
        return config_key(config) not in self._seen

    @abc.abstractmethod
    def _suggest(self) -> Config | None:
        """The strategy's next new configuration, or None when it has nothing new."""

    def _random_new(self, tries: int = 100) -> Config | None:
        """A prior sample not tried yet (None if the space seems exhausted)."""
        for config in self.space.sample(tries, self.rng):
            if self.is_new(config):
                return config
        return None


class RandomSearcher(Searcher):
    """Samples the space's prior, the baseline every other strategy must beat."""

    name = "random"

    def _suggest(self) -> Config | None:
        return self._random_new()


class PortfolioSearcher(Searcher):
    """The warm-start configurations alone: once they are used up, nothing new (`ask` -> None),
    so a study with a larger budget ends early."""

    name = "portfolio"

    def _suggest(self) -> Config | None:
        return None
