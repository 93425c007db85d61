"""Fit independent models side by side, one thread per core.

LightGBM frees the GIL while it boosts, so threads give real parallelism to ensembles of
independent fits (the surrogate's members, the curve model and its calibration folds) without the
cost of processes. Each fit keeps one LightGBM thread: small fits scale better across models
than inside one, and a model is the same whatever the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def map_on_cores(fit: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """`[fit(item) for item in items]`, in order, on up to one thread per usable core."""
    items = list(items)
    workers = min(usable_cores(), len(items))
    if workers <= 1:
        return [fit(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fit, items))
