"""Map the recommender's values onto an Optuna study's own distributions.

A user's study decides the ranges, steps and choices; a recommended value outside them is
clipped to the range and snapped to the step (or, for choices, to the nearest numeric choice).
A value that cannot be placed (a choice the study does not offer) gives None, and the caller
falls back to another sampler for that parameter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not _is_bool(value)


def snap(value: Any, distribution: BaseDistribution) -> Any | None:
    """`value` as a member of `distribution`, or None when it cannot be placed there.

    Example:
        >>> snap(300, IntDistribution(16, 256, step=16))
        256
        >>> snap(0.013, FloatDistribution(0.0, 0.1, step=0.005))
        0.015
        >>> snap("rmsprop", CategoricalDistribution(["adam", "sgd"])) is None
        True
    """
    if isinstance(distribution, CategoricalDistribution):
        return _snap_choice(value, distribution.choices)
    if not _is_number(value) or not math.isfinite(float(value)):
        return None
    low, high = distribution.low, distribution.high  # type: ignore[attr-defined]
    number = min(max(float(value), low), high)
    step = distribution.step  # type: ignore[attr-defined]
    if step is not None:
        number = min(low + round((number - low) / step) * step, high)  # Optuna makes high
        # a whole number of steps from low, so the snapped value is on the grid
    if isinstance(distribution, IntDistribution):
        return int(round(number))
    if isinstance(distribution, FloatDistribution):
        return round(number, 12) if step is not None else number  # no 0.30000000000000004
    return None


def _snap_choice(value: Any, choices: tuple[Any, ...]) -> Any | None:
    for choice in choices:  # exact match; True is not 1 here
        if _is_bool(choice) == _is_bool(value) and choice == value:
            return choice
    if not _is_number(value):
        return None
    numeric = [c for c in choices if _is_number(c)]
    if not numeric:
        return None
    return min(numeric, key=lambda c: abs(float(c) - float(value)))


def known_distributions(trials: Any) -> dict[str, BaseDistribution]:
    """Every parameter distribution the study's trials have used so far (latest wins)."""
    found: dict[str, BaseDistribution] = {}
    for trial in trials:
        found.update(trial.distributions)
    return found
