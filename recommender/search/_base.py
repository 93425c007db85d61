"""The ask/observe interface every search strategy implements.

A searcher proposes configurations (`ask`) and learns from finished trials (`observe`); it never
sees processes, training or the knowledge base. Warm-start configurations are a constructor
argument (`points_to_evaluate`, as in Syne Tune) and are proposed first, in order.
"""

from __future__ import annotations

import abc
import json
import warnings
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
        points_to_evaluate: configurations to try first, moved into `space` (`SearchSpace.fit`:
            clipped, rounded, snapped to a choice); one that cannot be moved (a parameter
            missing) is left out and the searcher's own proposals take its place. A warning
            says how many were moved or left out, and why.
        seed: makes the proposals repeatable.
    """

    name: ClassVar[str] = "custom"

    def __init__(
        self,
        space: SearchSpace,
        *,
        points_to_evaluate: Sequence[Mapping[str, Any]] = (),
        seed: int = 0,
    ) -> None:
        self.space = space
        self.points_to_evaluate = _fitted_points(space, points_to_evaluate)
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

    def observe_many(self, configs: Sequence[Mapping[str, Any]], scores: Sequence[float]) -> None:
        """`observe` each trial in turn; a strategy may learn a batch (history) faster."""
        for config, score in zip(configs, scores, strict=True):
            self.observe(config, score)

    def is_new(self, config: Mapping[str, Any]) -> bool:
        """Whether `config` has been neither observed nor handed out."""
        return config_key(config) not in self._seen

    def choose(
        self, candidates: Sequence[Config], n: int, pending: Sequence[Config] = ()
    ) -> list[Config]:
        """`n` of `candidates` to run beside `pending` (configurations handed out, not yet
        scored). A strategy with an acquisition ranks them; this one keeps their order."""
        return list(candidates[:n])

    @abc.abstractmethod
    def _suggest(self) -> Config | None:
        """The strategy's next new configuration, or None when it has nothing new."""

    def _random_new(self, tries: int = 100) -> Config | None:
        """A prior sample not tried yet (None if the space seems exhausted)."""
        for config in self.space.sample(tries, self.rng):
            if self.is_new(config):
                return config
        return None


def _fitted_points(space: SearchSpace, points: Sequence[Mapping[str, Any]]) -> list[Config]:
    """`points` moved into `space`; a warning names how many were moved or left out, and why."""
    kept: list[Config] = []
    moved: list[str] = []
    dropped: list[str] = []
    for point in points:
        fitted, changes = space.fit(point)
        if fitted is None:
            dropped.extend(changes)
        else:
            kept.append(fitted)
            if changes:
                moved.append(changes[0])
    if moved or dropped:
        parts = []
        if moved:
            parts.append(f"{len(moved)} moved into the space (e.g. {moved[0]})")
        if dropped:
            parts.append(
                f"{len(dropped)} left out, the search's own proposals taking their "
                f"place (e.g. {dropped[0]})"
            )
        warnings.warn(
            f"of {len(points)} warm-start configurations, " + "; ".join(parts),
            UserWarning,
            stacklevel=3,
        )
    return kept


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
