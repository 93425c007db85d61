"""What the built-in trainer asks of a space: `TrainConfig` names and values, an epoch cap.

A `SearchSpace` may name any parameter (a black-box study's own knobs). Only where the built-in
trainer runs the trials (`tune`, `suggest`, `Recommender.study(data=...)`) must every name be a
`TrainConfig` field and every value the space can produce be one `TrainConfig` accepts; this
module is that check, kept next to the trainer's use of the space.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hpo_common.errors import ConfigError, SpaceError
from recommender.space._distributions import Categorical, Float, Int
from recommender.space._space import SearchSpace
from training.config import TrainConfig


def check_trainable(space: SearchSpace, source: str = "search space") -> SearchSpace:
    """`space` itself, once every parameter is checked to feed `TrainConfig`.

    Args:
        space: the space the built-in trainer is about to search.
        source: where the space came from (a file name), the start of every error message.

    Raises:
        SpaceError: a name that is not a `TrainConfig` field, a domain of the wrong type, or a
            value (an extreme or a choice) that `TrainConfig` rejects.
    """
    known = TrainConfig.field_names()
    try:
        for name in space.names:
            if name not in known:
                raise SpaceError(
                    f"unknown parameter {name!r}: names must be TrainConfig fields: "
                    + ", ".join(known)
                )
        for name in space.names:
            _check_accepts(space, name)
    except SpaceError as exc:
        raise SpaceError(f"{source}: {exc}") from None
    return space


def is_trainable(space: SearchSpace) -> bool:
    """Whether the built-in trainer accepts `space` (`check_trainable` without the error)."""
    try:
        check_trainable(space)
    except SpaceError:
        return False
    return True


def _check_accepts(space: SearchSpace, name: str) -> None:
    dist = space.parameters[name]
    field_type = {f.name: str(f.type) for f in fields(TrainConfig)}[name]
    allowed = {"float": ("float",), "int": ("int", "float"), "bool": ("bool",)}
    if dist.kind in allowed and field_type not in allowed[dist.kind]:
        raise SpaceError(
            f"parameter {name!r}: a {dist.kind} domain cannot feed TrainConfig.{name}, "
            f"which is {field_type}"
        )
    context: dict[str, Any] = {}
    parent = space.conditions.get(name)
    while parent is not None:  # enable the parameter: set its ancestors to allowed values
        context[parent.parent] = parent.values[0]
        parent = space.conditions.get(parent.parent)
    if isinstance(dist, Categorical):
        extremes: tuple[Any, ...] = dist.choices
    elif isinstance(dist, Float) and dist.p_zero > 0:
        extremes = (dist.low, dist.high, 0.0)
    else:
        extremes = (dist.low, dist.high)  # type: ignore[attr-defined]
    for value in extremes:
        try:
            TrainConfig.from_dict({**context, name: value})
        except ConfigError as exc:
            raise SpaceError(
                f"parameter {name!r} can take {value!r}, which TrainConfig rejects: {exc}"
            ) from None


def cap_epochs(space: SearchSpace, max_epochs: int | None) -> SearchSpace:
    """`space` with `max_epochs` limited to `max_epochs` (a fixed value if the space lacks it)."""
    if max_epochs is None:
        return space
    dist = space.parameters.get("max_epochs")
    if isinstance(dist, Int):
        return epochs_between(space, min(dist.low, max_epochs), min(dist.high, max_epochs))
    return epochs_between(space, max_epochs, max_epochs)


def epochs_between(space: SearchSpace, low: int, high: int) -> SearchSpace:
    """`space` with `max_epochs` an integer from `low` to `high` (on a log scale where it was);
    a grid of it that no longer fits falls back to levels."""
    dist = space.parameters.get("max_epochs")
    log = isinstance(dist, Int) and dist.log and low < high
    params = {**space.parameters, "max_epochs": Int(low, high, log=log)}
    grids = {
        name: grid
        for name, grid in space.grids.items()
        if name != "max_epochs" or all(params[name].contains(v) for v in grid.values)
    }
    return SearchSpace(params, space.conditions, grids)
