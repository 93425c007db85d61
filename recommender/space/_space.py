"""The search space as data: named domains with conditions, sampling, encoding, validation.

One definition (a `.toml`, `.json` or `.yaml` file, or the shipped default) drives everything
that needs to know the hyperparameters: the seed design, the surrogate's input encoding, the
candidates of `suggest`, the local moves of `tune`, and the check of a user's configuration.
Names are free: a black-box study may call its parameters anything. Whether the built-in trainer
accepts a space is a separate check (`recommender.space.check_trainable`).

Example:
    >>> space = SearchSpace.from_dict({"parameters": {
    ...     "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
    ...     "momentum": {"type": "float", "low": 0.5, "high": 0.99,
    ...                  "condition": {"optimizer": ["sgd"]}},
    ... }})
    >>> [sorted(config) for config in space.sample(2, rng=1)]  # momentum only with sgd
    [['optimizer'], ['momentum', 'optimizer']]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from typing import Any

import numpy as np
import pandas as pd

from hpo_common.errors import SpaceError
from recommender.space._distributions import (
    DISTRIBUTIONS,
    Bool,
    Categorical,
    Condition,
    Distribution,
    GridLevels,
    Seed,
    _same,
)

GRID_KEYS = ("grid", "levels")


class SearchSpace:
    """Named parameter domains with activation conditions; immutable once built.

    Args:
        parameters: name -> domain, in display order; any names (`check_trainable` says whether
            the built-in trainer accepts them).
        conditions: name -> `Condition` for parameters that are active only sometimes.
        grids: name -> `GridLevels`, how grid search discretises a parameter (optional).

    Raises:
        SpaceError: a condition on a missing or non-categorical parameter, a cycle of
            conditions, or a grid that does not fit its parameter.
    """

    def __init__(
        self,
        parameters: Mapping[str, Distribution],
        conditions: Mapping[str, Condition] | None = None,
        grids: Mapping[str, GridLevels] | None = None,
    ) -> None:
        self._params = dict(parameters)
        self._conditions = dict(conditions or {})
        self._grids = dict(grids or {})
        if not self._params:
            raise SpaceError("a search space needs at least one parameter, but got none")
        for name, dist in self._params.items():
            if not isinstance(dist, Distribution):
                raise SpaceError(f"parameter {name!r} must be a Distribution, but got {dist!r}")
        for name, cond in self._conditions.items():
            self._check_condition(name, cond)
        for name, grid in self._grids.items():
            if name not in self._params:
                raise SpaceError(f"grid of {name!r}: {name!r} is not a parameter of this space")
            try:
                grid.check(self._params[name])
            except SpaceError as exc:
                raise SpaceError(f"parameter {name!r}: {exc}") from None
        self._order = self._topological_order()

    # --- construction checks -------------------------------------------------------------------

    def _check_condition(self, name: str, cond: Condition) -> None:
        where = f"condition of {name!r}"
        if name not in self._params:
            raise SpaceError(f"{where}: {name!r} is not a parameter of this space")
        parent = self._params.get(cond.parent)
        if parent is None:
            raise SpaceError(
                f"{where}: parent {cond.parent!r} is not a parameter of this space; "
                f"parameters are: {', '.join(self._params)}"
            )
        if not isinstance(parent, Categorical):
            raise SpaceError(
                f"{where}: parent {cond.parent!r} must be categorical or bool, "
                f"but it is {parent.kind}"
            )
        if not cond.values:
            raise SpaceError(f"{where}: needs at least one value of {cond.parent!r}, but got []")
        for value in cond.values:
            if not parent.contains(value):
                raise SpaceError(
                    f"{where}: {value!r} is not a value of {cond.parent!r}, "
                    f"which is {parent.describe()}"
                )

    def _topological_order(self) -> tuple[str, ...]:
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                raise SpaceError("conditions form a cycle: " + " -> ".join((*path, name)))
            state[name] = "visiting"
            if name in self._conditions:
                visit(self._conditions[name].parent, (*path, name))
            state[name] = "done"
            order.append(name)

        for name in self._params:
            visit(name, ())
        return tuple(order)

    # --- reading and writing -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "space") -> SearchSpace:
        """Build from `{"parameters": {name: {"type": ..., "condition": {parent: [values]}}}}`."""
        if not isinstance(data, Mapping) or not isinstance(data.get("parameters"), Mapping):
            raise SpaceError(f"{source}: must be a mapping with a `parameters` table of parameters")
        extra = sorted(set(data) - {"parameters", "description"})
        if extra:
            raise SpaceError(
                f"{source}: unknown top-level key(s) {', '.join(extra)}; "
                "valid keys are parameters, description"
            )
        params: dict[str, Distribution] = {}
        conditions: dict[str, Condition] = {}
        grids: dict[str, GridLevels] = {}
        for name, spec in data["parameters"].items():
            try:
                params[name], cond, grid = _parse_parameter(spec)
            except SpaceError as exc:
                raise SpaceError(f"{source}: parameter {name!r}: {exc}") from None
            if cond is not None:
                conditions[name] = cond
            if grid is not None:
                grids[name] = grid
        try:
            return cls(params, conditions, grids)
        except SpaceError as exc:
            raise SpaceError(f"{source}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The file form (JSON-serialisable); `from_dict(to_dict())` gives an equal space."""
        out: dict[str, Any] = {}
        for name, dist in self._params.items():
            spec = dist.to_dict()
            if name in self._conditions:
                spec["condition"] = self._conditions[name].to_dict()
            if name in self._grids:
                spec.update(self._grids[name].to_dict())
            out[name] = spec
        return {"parameters": out}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str, *, source: str = "space JSON") -> SearchSpace:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"{source}: not valid JSON: {exc}") from None
        return cls.from_dict(data, source=source)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return (
            self._params == other._params
            and self._conditions == other._conditions
            and self._grids == other._grids
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SearchSpace({', '.join(self._params)})"

    # --- structure -----------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in definition order."""
        return tuple(self._params)

    @property
    def parameters(self) -> Mapping[str, Distribution]:
        return dict(self._params)

    @property
    def conditions(self) -> Mapping[str, Condition]:
        return dict(self._conditions)

    @property
    def grids(self) -> Mapping[str, GridLevels]:
        """Grid discretisations given in the space file (`grid = [...]` / `levels = N`)."""
        return dict(self._grids)

    @property
    def encoded_names(self) -> tuple[str, ...]:
        """Column names of `encode`'s matrix: one column per parameter, in `names` order."""
        return self.names

    @property
    def categorical_indices(self) -> tuple[int, ...]:
        """Columns of `encode`'s matrix holding category codes (LightGBM `categorical_feature`)."""
        return tuple(
            i
            for i, d in enumerate(self._params.values())
            if isinstance(d, Categorical) and not isinstance(d, Bool)
        )

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether `name` is active given the values of its ancestors in `config`."""
        cond = self._conditions.get(name)
        if cond is None:
            return True
        if not self.is_active(cond.parent, config) or cond.parent not in config:
            return False
        return any(_same(config[cond.parent], v) for v in cond.values)

    # --- validation ----------------------------------------------------------------------------

    def project(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a full configuration (e.g. `TrainConfig.to_dict()`) this space describes:
        its active parameters only, in `names` order."""
        return {n: config[n] for n in self.names if n in config and self.is_active(n, config)}

    def fit(self, config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
        """`config` moved into this space: its active parameters, each at its `nearest` valid
        value (clipped, rounded, snapped to a choice). Returns the moved configuration (None if
        an active parameter is missing or has no near value) and what was changed or why not.

        Example:
            >>> space = SearchSpace.from_dict({"parameters": {
            ...     "wd": {"type": "float", "low": 1e-5, "high": 0.1, "log": True}}})
            >>> space.fit({"wd": 0.0, "other": 1})
            ({'wd': 1e-05}, ['wd 0.0 -> 1e-05'])
        """
        out: dict[str, Any] = {}
        changes: list[str] = []
        for name in self._order:
            if not self.is_active(name, out):
                continue
            if name not in config or config[name] is None:
                return None, [f"{name} is missing"]
            value = self._params[name].nearest(config[name])
            if value is None:
                return None, [f"{name}={config[name]!r} is not {self._params[name].describe()}"]
            if not _same(value, config[name]):
                changes.append(f"{name} {config[name]!r} -> {value!r}")
            out[name] = value
        return {name: out[name] for name in self.names if name in out}, changes

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise `SpaceError` unless `config` holds exactly the active parameters, each in range.

        A parameter outside the space, a missing active one, or a present inactive one is an
        error; use `project` first to accept a full `TrainConfig` dict.
        """
        if not isinstance(config, Mapping):
            raise SpaceError(f"a configuration must be a mapping, but got {type(config).__name__}")
        unknown = sorted(set(config) - set(self._params))
        if unknown:
            raise SpaceError(
                f"unknown parameter(s) {', '.join(unknown)}; "
                f"this space has: {', '.join(self.names)}"
            )
        for name in self._order:
            dist = self._params[name]
            active = self.is_active(name, config)
            if active and name not in config:
                raise SpaceError(f"parameter {name!r} is missing; it must be {dist.describe()}")
            if not active and name in config:
                cond = self._conditions[name]
                raise SpaceError(
                    f"parameter {name!r} is only active when {cond.parent} is one of "
                    f"{', '.join(repr(v) for v in cond.values)}, "
                    f"but got {cond.parent}={config.get(cond.parent)!r}"
                )
            if active and not dist.contains(config[name]):
                raise SpaceError(
                    f"parameter {name!r} must be {dist.describe()}, but got {config[name]!r}"
                )

    def contains(self, config: Mapping[str, Any]) -> bool:
        try:
            self.validate(config)
        except SpaceError:
            return False
        return True

    # --- sampling ------------------------------------------------------------------------------

    def sample(self, n: int, rng: Seed = None, method: str = "random") -> list[dict[str, Any]]:
        """`n` configurations (inactive parameters omitted), from the prior or a Sobol design.

        `method="sobol"` spreads points evenly over the unit cube (scrambled Sobol from
        scipy.stats.qmc), the space-filling design for seeding a knowledge base; a fixed `rng`
        makes it repeatable.
        """
        if not isinstance(n, int) or n < 0:
            raise SpaceError(f"n must be an integer >= 0, but got {n!r}")
        gen = np.random.default_rng(rng)
        d = len(self._params)
        if method == "random":
            u = gen.random((n, d))
        elif method == "sobol":
            from scipy.stats import qmc

            m = max(0, math.ceil(math.log2(max(n, 1))))
            u = qmc.Sobol(d, scramble=True, seed=gen).random_base2(m)[:n]
        else:
            raise SpaceError(f"method must be 'random' or 'sobol', but got {method!r}")
        columns = {
            name: dist.from_unit(u[:, j]) for j, (name, dist) in enumerate(self._params.items())
        }
        configs: list[dict[str, Any]] = []
        for i in range(n):
            row = {name: columns[name][i] for name in self._order}
            active = {name: row[name] for name in self._order if self.is_active(name, row)}
            configs.append({name: active[name] for name in self.names if name in active})
        return configs

    def neighbors(
        self, config: Mapping[str, Any], rng: Seed = None, n: int = 8, scale: float = 0.1
    ) -> list[dict[str, Any]]:
        """`n` local perturbations of `config` for a local search around a good point.

        Numeric parameters move by Gaussian jitter of standard deviation `scale` in the unit
        (log/exponent) scale; each categorical or boolean changes with probability `scale`.
        Parameters that become active draw from the prior; ones that become inactive are dropped.
        """
        if not 0 < scale <= 1:
            raise SpaceError(f"`0 < scale <= 1` must hold, but got (scale={scale})")
        base = self.project(config)
        self.validate(base)
        gen = np.random.default_rng(rng)
        out: list[dict[str, Any]] = []
        for _ in range(n):
            new: dict[str, Any] = {}
            for name in self._order:
                if not self.is_active(name, new):
                    continue
                dist = self._params[name]
                if name in base:
                    new[name] = dist.perturb(base[name], gen, scale)
                else:
                    new[name] = dist.from_unit(gen.random(1))[0]
            out.append({name: new[name] for name in self.names if name in new})
        return out

    # --- encoding ------------------------------------------------------------------------------

    def encode(self, configs: Sequence[Mapping[str, Any]] | pd.DataFrame) -> np.ndarray:
        """Numeric matrix (rows x `encoded_names`) for the surrogate.

        Log-scale and power-of-two parameters as log10 (a `p_zero` zero one decade below `low`),
        categoricals as integer codes (`categorical_indices`), booleans as 0/1; inactive, missing
        or unknown values as NaN. Extra keys (e.g. full `TrainConfig` dicts) are ignored.
        """
        frame = (
            configs
            if isinstance(configs, pd.DataFrame)
            else pd.DataFrame.from_records(list(configs))
        )
        out = np.full((len(frame), len(self._params)), np.nan)
        column = {name: j for j, name in enumerate(self._params)}
        for name, dist in self._params.items():
            if name in frame:
                out[:, column[name]] = dist.encode(frame[name].reset_index(drop=True))
        for name in self._order:  # parents first, so a parent's NaN (inactive) propagates
            cond = self._conditions.get(name)
            if cond is not None:
                parent: Categorical = self._params[cond.parent]  # type: ignore[assignment]
                codes = np.array([parent.index(v) for v in cond.values], dtype=float)
                inactive = ~np.isin(out[:, column[cond.parent]], codes)
                out[inactive, column[name]] = np.nan
        return out


def _parse_parameter(spec: Any) -> tuple[Distribution, Condition | None, GridLevels | None]:
    if not isinstance(spec, Mapping):
        raise SpaceError(f"must be a table of settings, but got {spec!r}")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in DISTRIBUTIONS:
        raise SpaceError(f"`type` must be one of {', '.join(DISTRIBUTIONS)}, but got {kind!r}")
    cls = DISTRIBUTIONS[kind]
    keys = [f.name for f in fields(cls) if not (cls is Bool and f.name == "choices")]  # type: ignore[arg-type]
    settings = {k: v for k, v in spec.items() if k not in ("type", "condition", *GRID_KEYS)}
    unknown = sorted(set(settings) - set(keys))
    if unknown:
        raise SpaceError(
            f"unknown key(s) {', '.join(unknown)} for a {kind} parameter; "
            f"valid keys are: {', '.join([*keys, 'condition', *GRID_KEYS])}"
        )
    required = [f.name for f in fields(cls) if f.default is MISSING]  # type: ignore[arg-type]
    missing = [k for k in required if k in keys and k not in settings]
    if missing:
        raise SpaceError(f"missing key(s) {', '.join(missing)} for a {kind} parameter")
    for flag in ("log", "power_of_two"):
        if flag in settings and not isinstance(settings[flag], bool):
            raise SpaceError(f"`{flag}` must be true or false, but got {settings[flag]!r}")
    dist = cls(**settings)
    grid = _parse_grid(spec)
    if grid is not None:
        grid.check(dist)
    cond_spec = spec.get("condition")
    if cond_spec is None:
        return dist, None, grid
    if not isinstance(cond_spec, Mapping) or len(cond_spec) != 1:
        raise SpaceError(
            "`condition` must name exactly one parent parameter, as {parent = [values]}, "
            f"but got {cond_spec!r}"
        )
    ((parent, values),) = cond_spec.items()
    values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
    return dist, Condition(parent, values), grid


def _parse_grid(spec: Mapping[str, Any]) -> GridLevels | None:
    if not any(key in spec for key in GRID_KEYS):
        return None
    values = spec.get("grid", ())
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Sequence)
        or ("grid" in spec and not values)
    ):
        raise SpaceError(f"`grid` must be a non-empty list of values, but got {values!r}")
    return GridLevels(tuple(values), spec.get("levels"))
