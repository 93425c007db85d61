"""Parameter domains (Optuna-style distributions) and activation conditions.

Each domain validates on construction and states the rule it broke. `Float` adds `p_zero`: the
probability of sampling exactly 0, the "off" value of a penalty such as weight decay or gradient
clipping, so that "off" and a log-scaled range live in one parameter. A `Condition` makes a
parameter active only while another (categorical or boolean) parameter takes one of the given
values. `GridLevels` says how grid search discretises a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hpo_common.errors import SpaceError

Value = float | int | str | bool
Seed = int | np.random.Generator | None


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

    def nearest(self, value: Any) -> Value | None:
        """`value` itself if valid, else the closest valid value (clipped, rounded, snapped to a
        choice or a power of two); None where nothing is close (a string outside the choices)."""
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

    def nearest(self, value: Any) -> Value | None:
        if not _is_number(value) or not math.isfinite(float(value)):
            return None
        if self.contains(value):
            return float(value)
        return float(min(max(float(value), self.low), self.high))


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

    def nearest(self, value: Any) -> Value | None:
        if not _is_number(value) or not math.isfinite(float(value)):
            return None
        x = min(max(float(value), self.low), self.high)
        if self.power_of_two:  # the nearest power of two on the log scale
            e_lo, e_hi = self._exponents()
            return 2 ** int(min(max(round(math.log2(x)), e_lo), e_hi))
        return int(min(max(round(x), self.low), self.high))


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

    def nearest(self, value: Any) -> Value | None:
        """The choice itself, else the numerically closest numeric choice (None for others)."""
        if self.contains(value):
            return self.choices[self.index(value)]  # type: ignore[index]
        numbers = [c for c in self.choices if _is_number(c)]
        if not _is_number(value) or not numbers or not math.isfinite(float(value)):
            return None
        return min(numbers, key=lambda c: abs(float(c) - float(value)))

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
                raise SpaceError(
                    f"grid value {value!r} is outside the parameter: it must be {dist.describe()}"
                )
        if len({(type(v) is bool, v) for v in self.values}) != len(self.values):
            raise SpaceError(f"`grid` values must be unique, but got {list(self.values)}")

    def to_dict(self) -> dict[str, Any]:
        return {"grid": list(self.values)} if self.values else {"levels": self.levels}


DISTRIBUTIONS: dict[str, type[Distribution]] = {d.kind: d for d in (Float, Int, Categorical, Bool)}
