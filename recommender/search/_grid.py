"""Grid search whose cells are tried best-predicted first.

A grid is the textbook strategy for one or two hyperparameters; beyond that it grows
exponentially, so its size is counted (conditions respected: a cell holds only its active
parameters) before anything is enumerated, and a grid above `max_cells` is refused with the way
out. The knowledge base's prior scores every cell once, and cells are proposed in that order, so
a budget smaller than the grid still covers its most promising part.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from hpo_common.errors import InputError
from recommender.search import DEFAULT_MAX_CELLS
from recommender.search._base import Config, Searcher
from recommender.search._prior import FlatPrior, Prior
from recommender.space import Categorical, Distribution, Float, GridLevels, Int, SearchSpace, Value

DEFAULT_GRID_LEVELS = 3  # points of a numeric parameter without `grid` or `levels` in the space


def grid_values(dist: Distribution, spec: GridLevels | None = None) -> list[Value]:
    """The grid points of one parameter: the space file's `grid`, all choices of a categorical,
    or `levels` points from low to high, evenly spaced on the parameter's (log) scale; a
    `p_zero` float adds its "off" value 0 first."""
    if spec is not None and spec.values:
        return list(spec.values)
    if isinstance(dist, Categorical):
        return list(dist.choices)
    n = spec.levels if spec is not None and spec.levels is not None else DEFAULT_GRID_LEVELS
    if isinstance(dist, Float):
        lo, hi = (math.log(dist.low), math.log(dist.high)) if dist.log else (dist.low, dist.high)
        points = _spaced(lo, hi, n)
        values = np.clip(np.exp(points) if dist.log else points, dist.low, dist.high)
        # 6 significant digits: 0.01, not exp(log(...)) = 0.010000000000000004
        off: list[Value] = [0.0] if dist.p_zero > 0 else []
        return off + [float(f"{v:.6g}") for v in values]
    if isinstance(dist, Int):
        if dist.power_of_two:
            lo_e, hi_e = dist.low.bit_length() - 1, dist.high.bit_length() - 1
            ints = [2 ** int(round(e)) for e in _spaced(lo_e, hi_e, n)]
        elif dist.log:
            ints = [int(round(math.exp(x))) for x in _spaced(math.log(dist.low),
                                                              math.log(dist.high), n)]
        else:
            ints = [int(round(x)) for x in _spaced(dist.low, dist.high, n)]
        return list(dict.fromkeys(min(max(i, dist.low), dist.high) for i in ints))
    raise InputError(f"no grid for a {type(dist).__name__} parameter")


def _spaced(lo: float, hi: float, n: int) -> np.ndarray:
    """`n` evenly spaced points from lo to hi inclusive; one point sits in the middle."""
    return np.array([(lo + hi) / 2]) if n == 1 else np.linspace(lo, hi, n)


def space_grid(space: SearchSpace) -> dict[str, list[Value]]:
    """Each parameter's grid points (see `grid_values`)."""
    grids = space.grids
    return {name: grid_values(dist, grids.get(name)) for name, dist in space.parameters.items()}


def count_cells(space: SearchSpace) -> int:
    """Cells of the grid, counted without enumerating them.

    Each parameter has at most one parent, so the conditions form a forest: a parameter's
    subtree holds, summed over its values, the product of the subtrees of the children that
    value activates; the grid is the product over the roots.
    """
    values = space_grid(space)
    children: dict[str, list[str]] = {name: [] for name in space.names}
    for name, cond in space.conditions.items():
        children[cond.parent].append(name)

    def subtree(name: str) -> int:
        total = 0
        for value in values[name]:
            active = [c for c in children[name] if space.is_active(c, {name: value})]
            total += math.prod(subtree(c) for c in active)
        return total

    roots = [name for name in space.names if name not in space.conditions]
    return math.prod(subtree(name) for name in roots)


def enumerate_cells(space: SearchSpace) -> list[Config]:
    """Every cell of the grid (active parameters only, in `space.names` order)."""
    values = space_grid(space)
    cells: list[dict[str, Any]] = [{}]
    pending = list(space.names)
    while pending:  # parents before children: take any parameter whose parent is placed
        name = next(n for n in pending if n not in space.conditions
                    or space.conditions[n].parent not in pending)
        pending.remove(name)
        grown: list[dict[str, Any]] = []
        for cell in cells:
            if space.is_active(name, cell):
                grown += [{**cell, name: value} for value in values[name]]
            else:
                grown.append(cell)
        cells = grown
    return [{n: cell[n] for n in space.names if n in cell} for cell in cells]


def check_grid_size(space: SearchSpace, max_cells: int = DEFAULT_MAX_CELLS) -> None:
    """Raise `InputError` naming the grid's size when it has more than `max_cells` cells."""
    n_cells = count_cells(space)
    if n_cells > max_cells:
        sizes = ", ".join(f"{n}={len(v)}" for n, v in space_grid(space).items())
        raise InputError(
            f"the grid has {n_cells:,} cells, more than the limit of {max_cells:,} "
            f"(points per parameter: {sizes}); give fewer parameters or points "
            "(`grid = [...]` / `levels = N` in the space file) or raise the limit (--grid-limit)"
        )


class GridSearcher(Searcher):
    """Every cell of the space's grid once, the prior's best-predicted first; then None.

    Args:
        space, seed: as `Searcher` (warm-start points are not used: only grid cells are tried).
        prior: the KB's belief (`KBPrior`) that orders the cells; None keeps enumeration order.
        max_cells: the largest grid accepted; a larger one raises `InputError` naming its size.

    Raises:
        InputError: the grid has more than `max_cells` cells.
    """

    name = "grid"

    def __init__(
        self, space: SearchSpace, *, prior: Prior | None = None, seed: int = 0,
        max_cells: int = DEFAULT_MAX_CELLS,
    ) -> None:
        super().__init__(space, seed=seed)
        check_grid_size(space, max_cells)
        self.prior = prior if prior is not None else FlatPrior()
        cells = enumerate_cells(space)
        predicted = self.prior.predict_members(space.encode(cells)).mean(axis=0)
        order = np.argsort(-predicted, kind="stable")
        self.cells: deque[Config] = deque(cells[i] for i in order)  # still to propose
        self.predicted = predicted[order]  # the prior's mean per cell, in proposal order

    def _suggest(self) -> Config | None:
        while self.cells:
            cell = self.cells.popleft()
            if self.is_new(cell):
                return cell
        return None
