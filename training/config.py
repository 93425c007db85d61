"""`TrainConfig`: the one typed, validated definition of every hyperparameter the engine takes.

Each default lives here and nowhere else. A config validates on construction, so an invalid one
never reaches the training loop, and round-trips through JSON.

Example:
    >>> cfg = TrainConfig(optimizer="sgd", learning_rate=0.05, momentum=0.9)
    >>> TrainConfig.from_json(cfg.to_json()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from hpo_common.errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "silu", "tanh")
INITS = ("he", "xavier")
LR_SCHEDULES = (
    "constant",
    "step",
    "multistep",
    "exponential",
    "cosine",
    "one_cycle",
    "cyclic",
    "linear",
)
# Recipe elements of modern tabular MLPs (RealMLP, Holzmueller et al. 2024; Gorishniy et al.
# 2022); each default is the engine's behaviour before they existed.
NUMERIC_PREPROCESSING = ("standard", "robust", "quantile")
TARGET_TRANSFORMS = ("none", "standard", "log1p", "quantile")
NUM_EMBEDDINGS = ("none", "periodic")
CATEGORICAL_ENCODINGS = ("onehot", "embedding")

# Numeric fields: (low, high, low_inclusive, high_inclusive).
_NUMERIC_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "learning_rate": (0.0, 100.0, False, True),
    "momentum": (0.0, 1.0, True, False),
    "beta1": (0.0, 1.0, True, False),
    "beta2": (0.0, 1.0, True, False),
    "batch_size": (1, 1_048_576, True, True),
    "max_epochs": (1, 100_000, True, True),
    "patience": (0, 100_000, True, True),
    "weight_decay": (0.0, 1.0, True, False),
    "dropout": (0.0, 1.0, True, False),
    "n_layers": (0, 64, True, True),
    "width": (1, 65_536, True, True),
    "warmup_epochs": (0, 100_000, True, True),
    "grad_clip": (0.0, 1e6, True, True),
    "embedding_dim": (1, 1024, True, True),
    "label_smoothing": (0.0, 1.0, True, False),
    "ensemble_size": (1, 64, True, True),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS,
    "activation": ACTIVATIONS,
    "init": INITS,
    "lr_schedule": LR_SCHEDULES,
    "numeric_preprocessing": NUMERIC_PREPROCESSING,
    "target_transform": TARGET_TRANSFORMS,
    "num_embedding": NUM_EMBEDDINGS,
    "categorical": CATEGORICAL_ENCODINGS,
}


# Fields that only some tasks use; every other field applies to every task.
TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "target_transform": ("regression",),
    "label_smoothing": ("binary", "multiclass"),
}


def applies_to(field_name: str, task: str) -> bool:
    """Whether `field_name` changes training on a `task` table (`TASK_FIELDS`)."""
    return task in TASK_FIELDS.get(field_name, (task,))


# Fields that change training only where another field has certain values (`build_optimizer`,
# `build_model`); every other field always does.
_USED_WHEN: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "momentum": lambda c: c["optimizer"] in ("sgd", "rmsprop"),
    "nesterov": lambda c: c["optimizer"] == "sgd",
    "beta1": lambda c: c["optimizer"] in ("adam", "adamw"),
    "beta2": lambda c: c["optimizer"] in ("adam", "adamw"),
    "embedding_dim": lambda c: c["num_embedding"] != "none" or c["categorical"] == "embedding",
    **dict.fromkeys(
        ("width", "activation", "batch_norm", "dropout"), lambda c: c["n_layers"] > 0
    ),
}


def in_effect(config: Mapping[str, Any], task: str) -> list[str]:
    """The fields of `config` (`TrainConfig` fields; missing ones at their defaults) that change
    its training on a `task` table: not momentum for adam, nor the width of a linear model, nor a
    field of another task (`applies_to`)."""
    full = {**TrainConfig().to_dict(), **config}
    return [
        name for name in config
        if applies_to(name, task) and _USED_WHEN.get(name, lambda _: True)(full)
    ]  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run of a tabular MLP.

    Attributes:
        optimizer: one of `OPTIMIZERS`.
        learning_rate: peak learning rate (after warm-up).
        momentum: momentum for sgd and rmsprop; ignored by the others.
        nesterov: Nesterov momentum, sgd only.
        beta1, beta2: Adam/AdamW moment decay rates.
        batch_size: samples per optimisation step.
        max_epochs: upper bound on passes over the training split.
        patience: epochs without improvement of the objective before early stopping; 0 = off.
        weight_decay: L2 penalty (decoupled for AdamW).
        dropout: dropout probability after each hidden layer.
        n_layers: hidden layers; 0 gives a linear model.
        width: units per hidden layer.
        activation: one of `ACTIVATIONS`.
        batch_norm: batch normalisation after each hidden linear layer.
        init: weight initialisation, "he" (Kaiming) or "xavier" (Glorot).
        lr_schedule: one of `LR_SCHEDULES`, applied per step after warm-up.
        warmup_epochs: epochs of linear warm-up from 0 to `learning_rate`.
        grad_clip: maximum gradient norm; 0 = no clipping.
        numeric_preprocessing: scaling of numeric columns, fitted on the training rows:
            "standard" (z-score), "robust" (median/IQR, then smooth clipping to about +-3, as
            RealMLP) or "quantile" (to a normal distribution).
        target_transform: what the regression loss sees (ignored for classification): "none",
            "standard" (z-score), "log1p" (then z-score; needs a target >= 0) or "quantile"
            (to normal). Metrics are always in the target's original units.
        num_embedding: "none", or "periodic" (PLR: each numeric column through learned
            sin/cos frequencies, a linear layer and ReLU; Gorishniy et al. 2022).
        embedding_dim: size of each column's embedding (periodic numeric and learned
            categorical).
        categorical: "onehot", or "embedding": columns with more categories than one-hot keeps
            get a learned embedding of size `embedding_dim` instead.
        label_smoothing: classification only: weight of the uniform distribution mixed into the
            training targets (the validation log loss is always against the true labels).
        ensemble_size: k > 1 trains a TabM-mini ensemble (Gorishniy et al. 2024): k members
            share every hidden layer, each with its own input scaling and output layer, trained
            on the mean of their losses; the prediction averages their probabilities (values).
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    batch_size: int = 128
    max_epochs: int = 50
    patience: int = 10
    weight_decay: float = 0.0
    dropout: float = 0.0
    n_layers: int = 2
    width: int = 256
    activation: str = "relu"
    batch_norm: bool = False
    init: str = "he"
    lr_schedule: str = "constant"
    warmup_epochs: int = 0
    grad_clip: float = 0.0
    numeric_preprocessing: str = "standard"
    target_transform: str = "standard"
    num_embedding: str = "none"
    embedding_dim: int = 8
    categorical: str = "onehot"
    label_smoothing: float = 0.0
    ensemble_size: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, _coerce(f.name, f.type, value))
        if self.nesterov and self.optimizer != "sgd":
            raise ConfigError(
                f"nesterov=True needs optimizer='sgd', but got optimizer={self.optimizer!r}"
            )
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov=True needs momentum > 0, but got momentum=0")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of every hyperparameter, in definition order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, ignore_unknown: bool = False) -> TrainConfig:
        """Build a config from a mapping; unknown keys raise unless `ignore_unknown`."""
        known = set(cls.field_names())
        unknown = sorted(set(values) - known)
        if unknown and not ignore_unknown:
            raise ConfigError(
                f"unknown hyperparameter(s) {', '.join(unknown)}; valid names are: "
                + ", ".join(cls.field_names())
            )
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """Parse a JSON object of hyperparameters."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config JSON must be an object, but got {type(values).__name__}")
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every hyperparameter (JSON-serialisable)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """JSON text of `to_dict()`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some hyperparameters changed, validated again."""
        return self.from_dict({**self.to_dict(), **changes})


def forward_macs(config: TrainConfig, n_in: int, n_out: int) -> float:
    """Multiply-adds of one sample's pass through the network's linear layers, `n_in` inputs to
    `n_out` outputs: what a configuration's step costs grows with it."""
    if not config.n_layers:
        return float(n_in * n_out)
    return float(
        n_in * config.width + (config.n_layers - 1) * config.width**2 + config.width * n_out
    )


def _coerce(name: str, type_name: Any, value: Any) -> Any:
    """Check one field's value and return it in its canonical type, or raise `ConfigError`."""
    type_name = str(type_name)
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise ConfigError(f"{name} must be true or false, but got {value!r}")
    if type_name == "str":
        choices = _CHOICES[name]
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, but got {value!r}")
        return value.strip().lower()
    number = _as_number(name, value, integer=type_name == "int")
    low, high, low_inc, high_inc = _NUMERIC_RANGES[name]
    if not (
        (number >= low if low_inc else number > low)
        and (number <= high if high_inc else number < high)
    ):
        lo = f">= {low}" if low_inc else f"> {low}"
        hi = f"<= {high}" if high_inc else f"< {high}"
        raise ConfigError(f"{name} must be {lo} and {hi}, but got {value!r}")
    return number


def _as_number(name: str, value: Any, *, integer: bool) -> int | float:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be {kind}, but got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {kind}, but got {value!r}") from None
    if not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ConfigError(f"{name} must be {kind}, but got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, but got {value!r}")
    if integer:
        if number != int(number):
            raise ConfigError(f"{name} must be an integer, but got {value!r}")
        return int(number)
    return number
