"""The tabular MLP and its optimizer, both built from a `TrainConfig`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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


# Dropout draws 16 random bits per unit, four from each 64-bit draw (on CPU a third of the cost
# of a float uniform draw per unit), so rates resolve to 1 / 65,536.
_DROP_LEVELS = 1 << 16


def dropout_scale(rate: float) -> torch.Tensor:
    """The float32 factor kept units are multiplied by, 1 / (1 - rate), computed one way for the
    solo model and the stacked one alike."""
    return torch.ones(1).div_(torch.tensor([1.0 - rate]))


def keep_threshold(rate: float) -> int:
    """The int16 level from which a unit is kept: a uniform level falls below it with
    probability `rate` (to 1 / 65,536)."""
    return round(rate * _DROP_LEVELS) - _DROP_LEVELS // 2


def draw_words(words: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill the int64 tensor `words` with uniform 64-bit values, each four uniform int16 levels
    (viewed as int16, in that order): the one draw of every dropout mask."""
    return words.random_(-(2**63), None, generator=generator)


def draw_keep_mask(
    out: torch.Tensor, rate: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill `out` (floats, any strides) with 1 for kept units and 0 for dropped ones, each
    dropped with probability `rate`, drawn in `out`'s element order from `generator` (the
    global stream when None): the solo model and each stacked member draw alike."""
    n = out.numel()
    words = draw_words(torch.empty((n + 3) // 4, dtype=torch.int64, device=out.device), generator)
    levels = words.view(torch.int16)[:n].view(out.shape)
    return torch.ge(levels, keep_threshold(rate), out=out)


class Dropout(nn.Module):
    """Inverted dropout drawn from 16 random bits per unit (`draw_keep_mask`).

    The masks follow `nn.Dropout`'s law (the rate to 1 / 65,536), but the layer runs faster on CPU
    than `nn.Dropout`'s element-by-element `bernoulli_` (`benchmarks/dropout_draw.py`), which
    took a fifth of a whole step's time on wide layers. `train_many` repeats this draw member by
    member, each on its member's stream.
    """

    scale: torch.Tensor  # a buffer: 1 / (1 - rate)

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate
        self.register_buffer("scale", dropout_scale(rate), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        return x * draw_keep_mask(torch.empty_like(x), self.rate).mul_(self.scale)

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


# Periodic embeddings: frequencies per numeric column and their initial scale (RealMLP's PBLD
# values; Gorishniy et al. 2022 tune the scale, 0.01-100).
N_FREQUENCIES = 16
FREQUENCY_SCALE = 0.1


class FeatureEmbedding(nn.Module):
    """The input layer of the recipe elements: [numeric | other | codes] columns to one vector.

    Numeric columns go through periodic embeddings when `num_embedding="periodic"` (PLR: per
    column, v = [cos(2 pi c x), sin(2 pi c x)] with learned frequencies c, then Linear(2f -> d)
    and ReLU); integer code columns through one learned `nn.Embedding(cardinality, d)` each;
    the other columns (one-hot, and numeric ones when not embedded) pass through.
    """

    def __init__(
        self, config: TrainConfig, n_features: int, n_numeric: int, cardinalities: Sequence[int]
    ) -> None:
        super().__init__()
        d, self.n_numeric, self.n_codes = config.embedding_dim, n_numeric, len(cardinalities)
        self.periodic = config.num_embedding == "periodic" and n_numeric > 0
        n_plain = n_features - self.n_codes - (n_numeric if self.periodic else 0)
        if self.periodic:
            self.frequencies = nn.Parameter(FREQUENCY_SCALE * torch.randn(n_numeric, N_FREQUENCIES))
            bound = 1 / math.sqrt(2 * N_FREQUENCIES)  # nn.Linear's default init, per column
            self.weight = nn.Parameter(
                torch.empty(n_numeric, 2 * N_FREQUENCIES, d).uniform_(-bound, bound)
            )
            self.bias = nn.Parameter(torch.empty(n_numeric, d).uniform_(-bound, bound))
        self.embeddings = nn.ModuleList(nn.Embedding(n, d) for n in cardinalities)
        self.out_features = n_plain + d * (self.n_codes + (n_numeric if self.periodic else 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_dense = x.shape[1] - self.n_codes
        parts = []
        if self.periodic:
            v = 2 * math.pi * x[:, : self.n_numeric, None] * self.frequencies
            v = torch.cat([torch.cos(v), torch.sin(v)], dim=2)
            plr = torch.relu(torch.einsum("bnf,nfd->bnd", v, self.weight) + self.bias)
            parts += [plr.flatten(1), x[:, self.n_numeric : n_dense]]
        else:
            parts.append(x[:, :n_dense])
        codes = x[:, n_dense:].long()
        parts += [emb(codes[:, i]) for i, emb in enumerate(self.embeddings)]
        return torch.cat(parts, dim=1)


class EnsembleInput(nn.Module):
    """TabM-mini's input adapter (Gorishniy et al. 2024): `k` copies of each row, each scaled by
    its member's own vector, initialised to random signs so the members differ from step one;
    every layer after it is shared. [rows, features] -> [rows, k, features]."""

    def __init__(self, k: int, n_features: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.randint(0, 2, (k, n_features)).float() * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, None, :] * self.scale


class MemberBatchNorm(nn.BatchNorm1d):
    """Batch norm over rows and members together, for [rows, k, units] activations."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)


class EnsembleHead(nn.Module):
    """One output layer per member. Training: every member's output, [rows, k, outputs], so each
    is trained on its own loss; evaluation: the ensemble's prediction, [rows, outputs]: the mean
    value (regression, one output) or the log of the mean class probabilities."""

    def __init__(self, k: int, d_in: int, n_outputs: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, d_in, n_outputs))
        self.bias = nn.Parameter(torch.zeros(k, n_outputs))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("bkd,kdc->bkc", h, self.weight) + self.bias
        if self.training:
            return out
        if out.shape[2] == 1:
            return out.mean(1)
        k = out.shape[1]
        return torch.logsumexp(torch.log_softmax(out.float(), dim=2), dim=1) - math.log(k)


def build_model(
    config: TrainConfig,
    n_features: int,
    n_outputs: int,
    *,
    n_numeric: int | None = None,
    cardinalities: Sequence[int] = (),
) -> nn.Sequential:
    """[FeatureEmbedding] -> [EnsembleInput] -> `n_layers` x (Linear -> [BatchNorm1d] ->
    activation -> [Dropout]) -> Linear head (`EnsembleHead` when `ensemble_size` > 1).

    `n_layers=0` gives a linear (logistic) model. Weights follow `config.init`; biases start at 0.
    The input layer is there only with periodic embeddings or `cardinalities` (the trailing
    integer-code columns of `PreparedData`); `n_numeric` leading columns are numeric (None: all
    columns before the codes).
    """
    layers: list[nn.Module] = []
    width_in = n_features
    if config.num_embedding != "none" or cardinalities:
        n_numeric = n_features - len(cardinalities) if n_numeric is None else n_numeric
        embedding = FeatureEmbedding(config, n_features, n_numeric, cardinalities)
        layers.append(embedding)
        width_in = embedding.out_features
    k = config.ensemble_size
    if k > 1:
        layers.append(EnsembleInput(k, width_in))
    for _ in range(config.n_layers):
        layers.append(nn.Linear(width_in, config.width))
        if config.batch_norm:
            layers.append(MemberBatchNorm(config.width) if k > 1 else nn.BatchNorm1d(config.width))
        layers.append(ACTIVATION_MODULES[config.activation]())
        if config.dropout > 0:
            layers.append(Dropout(config.dropout))
        width_in = config.width
    layers.append(EnsembleHead(k, width_in, n_outputs) if k > 1 else nn.Linear(width_in, n_outputs))
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
            _initialise_weight(module.weight, config.init, nonlinearity)
            nn.init.zeros_(module.bias)
        elif isinstance(module, EnsembleHead):
            for member in module.weight.detach():  # each member as the [outputs, inputs] layer
                _initialise_weight(member.T, config.init, nonlinearity)


def _initialise_weight(
    weight: torch.Tensor, init: str, nonlinearity: Literal["relu", "leaky_relu"]
) -> None:
    if init == "he":
        nn.init.kaiming_normal_(weight, nonlinearity=nonlinearity)
    else:
        nn.init.xavier_uniform_(weight)


# Devices where torch has each optimizer's fused kernel (rmsprop has none; adagrad's is CPU-only).
FUSED_DEVICES = {
    "sgd": ("cpu", "cuda"),
    "adam": ("cpu", "cuda"),
    "adamw": ("cpu", "cuda"),
    "adagrad": ("cpu",),
}


def build_optimizer(
    config: TrainConfig, params: Iterable[nn.Parameter], device: torch.device
) -> torch.optim.Optimizer:
    """The optimizer named by `config`, with its fused kernel where torch has one.

    Fused kernels update all parameters in one call, which is most of the per-step saving on
    small tabular models (the step is dominated by Python and kernel-launch overhead).
    """
    params = list(params)
    fused = {"fused": True} if device.type in FUSED_DEVICES.get(config.optimizer, ()) else {}
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
