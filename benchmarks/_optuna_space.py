"""Optuna's view of a `SearchSpace` (benchmarks only): the same parameters, define-by-run.

Conditions become Optuna's usual conditional `suggest_*` calls; a float's `p_zero` (an exact 0 with
some probability, e.g. "no weight decay") becomes a boolean "NAME_is_zero" parameter.
"""

from __future__ import annotations

from typing import Any

from recommender.space import Bool, Categorical, Float, Int, SearchSpace


def suggest_config(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Ask an Optuna trial for one configuration of `space` (active parameters only)."""
    config: dict[str, Any] = {}
    pending = list(space.names)
    while pending:
        for name in list(pending):
            cond = space.conditions.get(name)
            if cond is not None and cond.parent in pending:
                continue  # its parent first
            pending.remove(name)
            if space.is_active(name, config):
                config[name] = _suggest(trial, name, space.parameters[name])
    return {name: config[name] for name in space.names if name in config}


def _suggest(trial: Any, name: str, dist: Any) -> Any:
    if isinstance(dist, Bool):
        return trial.suggest_categorical(name, [False, True])
    if isinstance(dist, Categorical):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, Int):
        if dist.power_of_two:
            low, high = dist.low.bit_length() - 1, dist.high.bit_length() - 1
            return 2 ** trial.suggest_int(f"{name}_log2", low, high)
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    if isinstance(dist, Float):
        if dist.p_zero > 0 and trial.suggest_categorical(f"{name}_is_zero", [False, True]):
            return 0.0
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    raise TypeError(f"unsupported distribution for {name}: {dist!r}")
