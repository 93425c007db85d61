"""The tabular MLP and its optimizer, both built from a `TrainConfig`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn

from training.config import TrainConfig

ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def build_model(config: TrainConfig, n_features: int, n_outputs: int) -> nn.Sequential:
    """`n_layers` x (Linear -> [BatchNorm1d] -> activation -> [Dropout]) -> Linear head.

    `n_layers=0` gives a linear (logistic) model. Weights follow `config.init`; biases start at 0.
    """
    layers: list[nn.Module] = []
    width_in = n_features
    for _ in range(config.n_layers):
        layers.append(nn.Linear(width_in, config.width))
        if config.batch_norm:
            layers.append(nn.BatchNorm1d(config.width))
        layers.append(ACTIVATION_MODULES[config.activation]())
        if config.dropout > 0:
            layers.append(nn.Dropout(config.dropout))
        width_in = config.width
    layers.append(nn.Linear(width_in, n_outputs))
    model = nn.Sequential(*layers)
    _initialise(model, config)
    return model


def _initialise(model: nn.Sequential, config: TrainConfig) -> None:
    # Kaiming's gain depends on the nonlinearity; tanh/gelu/silu are closest to the leaky_relu form.
    nonlinearity: Literal["relu", "leaky_relu"] = (
        "relu" if config.activation == "relu" else "leaky_relu"
    )
    for module in model:
        if isinstance(module, nn.Linear):
            if config.init == "he":
                nn.init.kaiming_normal_(module.weight, nonlinearity=nonlinearity)
            else:
                nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


def build_optimizer(
    config: TrainConfig, params: Iterable[nn.Parameter], device: torch.device
) -> torch.optim.Optimizer:
    """The optimizer named by `config`, with its fused kernel where torch has one.

    Fused kernels update all parameters in one call, which is most of the per-step saving on
    small tabular models (the step is dominated by Python and kernel-launch overhead).
    """
    params = list(params)
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    lr, wd = config.learning_rate, config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=wd,
            **fused,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(
            params, lr=lr, betas=(config.beta1, config.beta2), weight_decay=wd, **fused
        )
    if config.optimizer == "adamw":
        return torch.optim.AdamW(
            params, lr=lr, betas=(config.beta1, config.beta2), weight_decay=wd, **fused
        )
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=wd, **fused)
