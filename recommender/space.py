"""The search space as data: typed parameter domains, conditions, sampling, encoding, validation.

One definition (a `.toml`, `.json` or `.yaml` file, or the shipped default) drives everything
that needs to know the hyperparameters: the seed design, the surrogate's input encoding, the
candidates of `suggest`, the local moves of `tune`, and the check of a user's configuration.
Parameter names are `TrainConfig` field names; every value a space can produce is accepted by
`TrainConfig`.

Domains follow Optuna's distributions: `Float(low, high, log)`, `Int(low, high, log, power_of_two)`,
`Categorical(choices)`, `Bool()`. Each validates on construction and states the rule it broke.
`Float` adds `p_zero`: the probability of sampling exactly 0, the "off" value of a penalty such as
weight decay or gradient clipping, so that "off" and a log-scaled range live in one parameter.
A `Condition` makes a parameter active only while another (categorical or boolean) parameter takes
one of the given values; inactive parameters are absent from sampled configurations.

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

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hpo_common.errors import ConfigError, SpaceError
from training.config import TrainConfig

Value = float | int | str | bool
Seed = int | np.random.Generator | None
SUFFIXES = (".toml", ".json", ".yaml", ".yml")
GRID_KEYS = ("grid", "levels")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps True apart from 1."""
    return bool(a == b) and isinstance(a, (bool, np.bool_)) == isinstance(b, (bool, np.bool_))


class Distribution:
    """A parameter's domain: how to sample it from a unit cube, perturb it, encode it."""

    kind: ClassVar[str]

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        """The valid values in words, for error messages."""
        raise NotImplementedError

    def from_unit(self, u: np.ndarray) -> list[Value]:
        """Map points of [0, 1) to values; uniform `u` gives the parameter's prior."""
        raise NotImplementedError

    def to_unit(self, value: Value) -> float:
        """Inverse of `from_unit`: the centre of the unit interval that maps to `value`."""
        raise NotImplementedError

    def encode(self, values: pd.Series) -> np.ndarray:
        """Numeric column for the surrogate; values that cannot be placed -> NaN."""
        raise NotImplementedError

    def perturb(self, value: Value, rng: np.random.Generator, scale: float) -> Value:
        """A nearby value: Gaussian jitter of width `scale` in the unit (transformed) scale."""
        u = float(np.clip(self.to_unit(value) + rng.normal(0.0, scale), 0.0, 1.0 - 1e-12))
        return self.from_unit(np.array([u]))[0]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _check_bounds(low: Any, high: Any, log: bool, integer: bool) -> None:
    for key, value in (("low", low), ("high", high)):
        if not _is_number(value) or not math.isfinite(float(value)):
            raise SpaceError(f"`{key}` must be a finite number, but got {value!r}")
        if integer and float(value) != int(value):
            raise SpaceError(f"`{key}` must be an integer, but got {value!r}")
    if not low <= high:
        raise SpaceError(f"`low <= high` must hold, but got (low={low}, high={high})")
    if log and not low > 0:
        raise SpaceError(f"`low > 0` must hold for a log scale, but got (low={low}, log=True)")


@dataclass(frozen=True)
class Float(Distribution):
    """A real number in [low, high], uniform or log-uniform, optionally exactly 0 with `p_zero`."""

    low: float
    high: float
    log: bool = False
    p_zero: float = 0.0
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.log, integer=False)
        if not _is_number(self.p_zero) or not 0.0 <= self.p_zero < 1.0:
            raise SpaceError(f"`0 <= p_zero < 1` must hold, but got (p_zero={self.p_zero!r})")
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        object.__setattr__(self, "p_zero", float(self.p_zero))
        object.__setattr__(self, "log", bool(self.log))

    def _t(self, x: Any) -> Any:
        return np.log(x) if self.log else x

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or not math.isfinite(float(value)):
            return False
        return (self.p_zero > 0 and value == 0) or self.low <= value <= self.high

    def describe(self) -> str:
        zero = " or 0" if self.p_zero > 0 else ""
        return f"a number in [{self.low}, {self.high}]{zero}"

    def from_unit(self, u: np.ndarray) -> list[Value]:
        v = (u - self.p_zero) / (1.0 - self.p_zero)
        lo, hi = self._t(self.low), self._t(self.high)
        x = lo + np.clip(v, 0.0, 1.0) * (hi - lo)
        x = np.clip(np.exp(x) if self.log else x, self.low, self.high)
        return np.where(u < self.p_zero, 0.0, x).tolist()

    def to_unit(self, value: Value) -> float:
        if value == 0 and self.p_zero > 0:
            return self.p_zero / 2
        lo, hi = self._t(self.low), self._t(self.high)
        v = 0.5 if hi == lo else (self._t(float(value)) - lo) / (hi - lo)
        return self.p_zero + (1.0 - self.p_zero) * float(np.clip(v, 0.0, 1.0))

    def encode(self, values: pd.Series) -> np.ndarray:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not self.log:
            return x
        # log10; 0 ("off") sits one decade below `low`, so trees can split it off.
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, np.log10(x), np.where(x <= 0, math.log10(self.low) - 1, np.nan))


@dataclass(frozen=True)
class Int(Distribution):
    """An integer in [low, high]: uniform, log-uniform, or a power of two (uniform exponent)."""

    low: int
    high: int
    log: bool = False
    power_of_two: bool = False
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.log or self.power_of_two, integer=True)
        for key, value in (("low", self.low), ("high", self.high)):
            if self.power_of_two and int(value) & (int(value) - 1):
                raise SpaceError(
                    f"`{key}` must be a power of two when power_of_two=True, "
                    f"but got ({key}={value})"
                )
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))
        object.__setattr__(self, "log", bool(self.log))
        object.__setattr__(self, "power_of_two", bool(self.power_of_two))

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or not math.isfinite(float(value)) or value != int(value):
            return False
        v = int(value)
        return self.low <= v <= self.high and not (self.power_of_two and v & (v - 1))

    def describe(self) -> str:
        pow2 = " that is a power of two" if self.power_of_two else ""
        return f"an integer in [{self.low}, {self.high}]{pow2}"

    def _exponents(self) -> tuple[int, int]:
        return self.low.bit_length() - 1, self.high.bit_length() - 1

    def from_unit(self, u: np.ndarray) -> list[Value]:
        if self.power_of_two:
            e_lo, e_hi = self._exponents()
            e = np.minimum(e_lo + np.floor(u * (e_hi - e_lo + 1)), e_hi)
            return (2 ** e.astype(np.int64)).tolist()
        if self.log:
            x = np.floor(np.exp(np.log(self.low) + u * (np.log(self.high + 1) - np.log(self.low))))
        else:
            x = self.low + np.floor(u * (self.high - self.low + 1))
        return np.clip(x, self.low, self.high).astype(np.int64).tolist()

    def to_unit(self, value: Value) -> float:
        v = max(int(value), 1) if (self.power_of_two or self.log) else int(value)
        if self.power_of_two:
            e_lo, e_hi = self._exponents()
            u = (math.log2(v) - e_lo + 0.5) / (e_hi - e_lo + 1)
        elif self.log:
            u = (math.log(v + 0.5) - math.log(self.low)) / (
                math.log(self.high + 1) - math.log(self.low)
            )
        else:
            u = (v - self.low + 0.5) / (self.high - self.low + 1)
        return float(np.clip(u, 0.0, 1.0))

    def encode(self, values: pd.Series) -> np.ndarray:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not (self.log or self.power_of_two):
            return x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, np.log10(x), np.nan)


@dataclass(frozen=True)
class Categorical(Distribution):
    """One of a fixed tuple of choices (strings, numbers or booleans); encoded as its index."""

    choices: tuple[Value, ...]
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise SpaceError(f"`choices` must be a list, but got {self.choices!r}")
        choices = tuple(self.choices)
        if not choices:
            raise SpaceError("`choices` must not be empty, but got []")
        for c in choices:
            if not isinstance(c, (str, bool)) and not _is_number(c):
                raise SpaceError(f"each choice must be a string, number or boolean, but got {c!r}")
        if len({(type(c) is bool, c) for c in choices}) != len(choices):
            raise SpaceError(f"`choices` must be unique, but got {list(choices)}")
        object.__setattr__(self, "choices", choices)

    def index(self, value: Any) -> int | None:
        return next((i for i, c in enumerate(self.choices) if _same(value, c)), None)

    def contains(self, value: Any) -> bool:
        return self.index(value) is not None

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def from_unit(self, u: np.ndarray) -> list[Value]:
        k = len(self.choices)
        idx = np.minimum(np.floor(u * k).astype(np.int64), k - 1)
        return [self.choices[i] for i in idx.tolist()]

    def to_unit(self, value: Value) -> float:
        return ((self.index(value) or 0) + 0.5) / len(self.choices)

    def encode(self, values: pd.Series) -> np.ndarray:
        codes = {c: float(i) for i, c in enumerate(self.choices)}
        return values.map(codes).to_numpy(dtype=float, na_value=np.nan)

    def perturb(self, value: Value, rng: np.random.Generator, scale: float) -> Value:
        """With probability `scale`, another choice drawn uniformly; else the same value."""
        others = [c for c in self.choices if not _same(c, value)]
        if others and rng.random() < scale:
            return others[int(rng.integers(len(others)))]
        return value


@dataclass(frozen=True)
class Bool(Categorical):
    """True or False; encoded as 1/0."""

    choices: tuple[Value, ...] = (False, True)
    kind: ClassVar[str] = "bool"

    def __post_init__(self) -> None:
        if tuple(self.choices) != (False, True):
            raise SpaceError(f"a bool parameter takes no choices, but got {self.choices!r}")
        super().__post_init__()

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind}


@dataclass(frozen=True)
class Condition:
    """The owning parameter is active only while `parent` takes one of `values`."""

    parent: str
    values: tuple[Value, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.parent: list(self.values)}


@dataclass(frozen=True)
class GridLevels:
    """How grid search discretises one parameter: explicit `values` (file key `grid = [...]`), or
    `levels` points evenly spaced over a numeric range (`levels = N`, log-spaced on a log scale).
    Parameters without one use all choices (categorical) or `DEFAULT_GRID_LEVELS` points."""

    values: tuple[Value, ...] = ()
    levels: int | None = None

    def check(self, dist: Distribution) -> None:
        """Raise `SpaceError` unless this discretisation fits `dist`."""
        if bool(self.values) == (self.levels is not None):
            raise SpaceError("give either `grid = [...]` or `levels = N`, not both and not neither")
        if self.levels is not None:
            if isinstance(dist, Categorical):
                raise SpaceError(
                    "`levels` applies to int and float parameters; use `grid = [...]` to pick "
                    f"a subset of the choices, but got levels={self.levels!r}"
                )
            if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 1:
                raise SpaceError(f"`levels` must be an integer >= 1, but got {self.levels!r}")
        for value in self.values:
            if not dist.contains(value):
                raise SpaceError(f"grid value {value!r} is outside the parameter: it must be "
                                 f"{dist.describe()}")
        if len({(type(v) is bool, v) for v in self.values}) != len(self.values):
            raise SpaceError(f"`grid` values must be unique, but got {list(self.values)}")

    def to_dict(self) -> dict[str, Any]:
        return {"grid": list(self.values)} if self.values else {"levels": self.levels}


DISTRIBUTIONS: dict[str, type[Distribution]] = {d.kind: d for d in (Float, Int, Categorical, Bool)}


class SearchSpace:
    """Named parameter domains with activation conditions; immutable once built.

    Args:
        parameters: name -> domain, in display order; names are `TrainConfig` fields.
        conditions: name -> `Condition` for parameters that are active only sometimes.
        grids: name -> `GridLevels`, how grid search discretises a parameter (optional).

    Raises:
        SpaceError: unknown names, a condition on a missing or non-categorical parameter, a cycle
            of conditions, a grid that does not fit its parameter, or a domain that can produce
            values `TrainConfig` rejects.
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
        known = TrainConfig.field_names()
        for name, dist in self._params.items():
            if name not in known:
                raise SpaceError(
                    f"unknown parameter {name!r}: names must be TrainConfig fields: "
                    + ", ".join(known)
                )
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
        for name in self._params:
            self._check_trainconfig_accepts(name)

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

    def _check_trainconfig_accepts(self, name: str) -> None:
        dist = self._params[name]
        field_type = {f.name: str(f.type) for f in fields(TrainConfig)}[name]
        allowed = {"float": ("float",), "int": ("int", "float"), "bool": ("bool",)}
        if dist.kind in allowed and field_type not in allowed[dist.kind]:
            raise SpaceError(
                f"parameter {name!r}: a {dist.kind} domain cannot feed TrainConfig.{name}, "
                f"which is {field_type}"
            )
        context: dict[str, Any] = {}
        parent = self._conditions.get(name)
        while parent is not None:  # enable the parameter: set its ancestors to allowed values
            context[parent.parent] = parent.values[0]
            parent = self._conditions.get(parent.parent)
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
        return (self._params == other._params and self._conditions == other._conditions
                and self._grids == other._grids)

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
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or (
        "grid" in spec and not values
    ):
        raise SpaceError(f"`grid` must be a non-empty list of values, but got {values!r}")
    return GridLevels(tuple(values), spec.get("levels"))


def _read_mapping(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SpaceError(
            f"{path}: unsupported space file extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpaceError(f"{path}: space file does not exist") from None
    except OSError as exc:
        raise SpaceError(f"{path}: cannot read space file: {exc.strerror}") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"{path}: not valid JSON: {exc}") from None
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ModuleNotFoundError:
                raise SpaceError(
                    f"{path}: reading TOML needs Python 3.11+ or `pip install tomli`"
                ) from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpaceError(f"{path}: not valid TOML: {exc}") from None
    try:
        import yaml
    except ModuleNotFoundError:
        raise SpaceError(
            f"{path}: reading YAML needs PyYAML (`pip install pyyaml`); or use .toml/.json"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(f"{path}: not valid YAML: {exc}") from None


def load_space(path: str | Path) -> SearchSpace:
    """Read a space file (.toml, .json, .yaml/.yml); errors name the file and the parameter."""
    path = Path(path)
    return SearchSpace.from_dict(_read_mapping(path), source=str(path))


@functools.lru_cache(maxsize=1)
def default_space() -> SearchSpace:
    """The shipped default space (`recommender/data/default_space.toml`)."""
    ref = resources.files("recommender") / "data" / "default_space.toml"
    with resources.as_file(ref) as path:
        return load_space(path)
