"""The search space as data: domains, conditions, the space, its files, the trainer's rules.

Domains follow Optuna's distributions: `Float(low, high, log, p_zero)`, `Int(low, high, log,
power_of_two)`, `Categorical(choices)`, `Bool()`. A `SearchSpace` names them (any names: a
black-box study's own knobs are fine) and adds conditions and grid levels; `load_space` reads one
from a `.toml`, `.json` or `.yaml` file and `default_space` is the shipped one.
`check_trainable` says whether the built-in trainer accepts a space, and `cap_epochs` and
`epochs_between` limit its epochs: they apply only where the built-in trainer runs the trials.

This package loads neither torch nor scikit-learn.
"""

from __future__ import annotations

from recommender.space._distributions import (
    DISTRIBUTIONS,
    Bool,
    Categorical,
    Condition,
    Distribution,
    Float,
    GridLevels,
    Int,
    Seed,
    Value,
)
from recommender.space._io import SUFFIXES, default_space, load_space
from recommender.space._space import GRID_KEYS, SearchSpace
from recommender.space._trainable import (
    cap_epochs,
    check_trainable,
    epochs_between,
    is_trainable,
)

__all__ = [
    "DISTRIBUTIONS",
    "GRID_KEYS",
    "SUFFIXES",
    "Bool",
    "Categorical",
    "Condition",
    "Distribution",
    "Float",
    "GridLevels",
    "Int",
    "SearchSpace",
    "Seed",
    "Value",
    "cap_epochs",
    "check_trainable",
    "default_space",
    "epochs_between",
    "is_trainable",
    "load_space",
]
