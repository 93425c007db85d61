"""The five optimizers of `TrainConfig`, vectorised over a group's members.

Each member keeps its own learning rate (per step, from its schedule), weight decay, momentum,
Nesterov flag and betas as entries of `[K, 1]` tensors, and all its parameters are one row of
the group's `[K, P]` buffer (`StackedMLP.flat`), so a step is a handful of whole-buffer
kernels. The update formulas are torch's own (`torch.optim` with the defaults
`build_optimizer` uses), so a member follows its solo run up to float rounding.

Wide members (`FUSED_FROM` parameters and more) are memory-bound in the update: those handful
of kernels each pass over the whole `[K, P]` buffer, where the solo run's fused optimizer passes
once. There each member's row is updated by the very kernel its solo run's optimizer calls (the
fused sgd, adam, adamw and adagrad kernels; rmsprop, which has none, through torch's own
functional update on the row), one call per member, with its own learning rate and
hyperparameters. On CPU only: on a GPU, K calls per step are K kernel launches, where the
whole-buffer kernels are a handful whatever K.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim.rmsprop import rmsprop

from training.config import TrainConfig

ADAM_EPS = 1e-8  # torch.optim.Adam/AdamW default
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8  # torch.optim.RMSprop defaults
ADAGRAD_EPS = 1e-10  # torch.optim.Adagrad default
CLIP_EPS = 1e-6  # as nn.utils.clip_grad_norm_
# Parameters per member from which a member's update is its own kernel call (see above).
# Measured on CPU, one thread, 8 members (`benchmarks/stacked_optimizer.py`): fused calls run at
# 0.67-0.86x the whole-buffer kernels' speed at 2^11 parameters, 1.0-1.3x at 2^12, 1.5-1.9x at
# 2^13, 3.7-5.0x at 2^15 and 13-22x at 2^20 (the whole-buffer kernels' temporaries no longer
# fit the caches); rmsprop's Python update runs at 0.2x at 2^13, 0.63x at 2^15, 1.5x at 2^17.
FUSED_FROM = {"sgd": 2**12, "adam": 2**12, "adamw": 2**12, "adagrad": 2**12, "rmsprop": 2**16}
FUSED: dict[str, Callable[..., Any]] = {
    "sgd": torch._fused_sgd_,
    "adam": torch._fused_adam_,
    "adamw": torch._fused_adamw_,
    "adagrad": torch._fused_adagrad_,
    "rmsprop": rmsprop,  # no fused kernel: torch's single-tensor update (advances the step)
}
# The per-member `TrainConfig` values an update reads.
HYPER_FIELDS = ("weight_decay", "momentum", "beta1", "beta2", "grad_clip", "nesterov")


class StackedOptimizer:
    """One optimizer family over `[K, P]` parameters and gradients (row = member)."""

    def __init__(self, configs: Sequence[TrainConfig], device: torch.device) -> None:
        self.family, self.device = configs[0].optimizer, device

        def column(name: str) -> torch.Tensor:
            values = [float(getattr(c, name)) for c in configs]
            return torch.tensor(values, device=device).view(-1, 1)

        self.hyper = {name: column(name) for name in HYPER_FIELDS}
        self.hyper["nesterov"] = self.hyper["nesterov"].bool()
        self.clipping = any(c.grad_clip > 0 for c in configs)
        self._derive()
        self.steps = 0
        self.first: torch.Tensor | None = None  # momentum buffer / first moment
        self.second: torch.Tensor | None = None  # second moment / squared-gradient sum
        self.counts = torch.zeros(len(configs), device=device)  # the fused kernels' step

    def _derive(self) -> None:
        """The updates' constants, once rather than every step (again after a member changes)."""
        for beta in ("beta1", "beta2"):
            self.hyper[f"1-{beta}"] = 1 - self.hyper[beta]
        # no clipping as an infinite norm limit: its scale is exactly 1 (see `clip`)
        limit = self.hyper["grad_clip"]
        self.hyper["clip_limit"] = torch.where(limit > 0, limit, torch.full_like(limit, math.inf))
        # per member, as Python numbers, for the fused kernels' arguments
        self.members = [
            dict(zip(HYPER_FIELDS, values, strict=True))
            for values in zip(
                *(self.hyper[name].view(-1).tolist() for name in HYPER_FIELDS), strict=True
            )
        ]

    def clip(self, grad: torch.Tensor) -> None:
        """Per member, as `clip_grad_norm_`: scale its gradient to norm `grad_clip` (0: off)."""
        if not self.clipping:
            return
        norm = torch.linalg.vector_norm(grad, dim=1, keepdim=True)
        grad.mul_(torch.clamp(self.hyper["clip_limit"] / (norm + CLIP_EPS), max=1.0))

    @torch.no_grad()
    def step(self, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, lrs: list[float]) -> None:
        """One update of every member's row of `p` with its learning rate `lr[k]` (`lrs[k]`)."""
        self.steps += 1
        if self.first is None or self.second is None:
            self.first, self.second = torch.zeros_like(p), torch.zeros_like(p)
        if self.device.type == "cpu" and p.shape[1] >= FUSED_FROM[self.family]:
            self._fused(p, g, lrs, self.first, self.second)
            return
        update = getattr(self, f"_{self.family}")
        update(p, g, lr.view(-1, 1), self.hyper, self.first, self.second)

    def _fused(self, p: Tensor, g: Tensor, lrs: list[float], first: Tensor, second: Tensor) -> None:
        """Each member's row through the kernel its solo run's optimizer calls."""
        if self.family != "rmsprop":
            self.counts += 1  # as torch.optim: the step count is advanced before the kernel
        kernel = FUSED[self.family]
        for k, (lr, h) in enumerate(zip(lrs, self.members, strict=True)):
            rows: tuple[list[Tensor], ...] = ([p[k]], [g[k]])
            decay = h["weight_decay"]
            if self.family == "sgd":
                momentum = h["momentum"]
                buffers = [first[k]] if momentum else []
                first_step = self.steps == 1 and bool(momentum)
                kernel(*rows, buffers, weight_decay=decay, momentum=momentum, lr=lr,
                       dampening=0.0, nesterov=bool(h["nesterov"]), maximize=False,
                       is_first_step=first_step)  # fmt: skip
            elif self.family == "adagrad":
                kernel(*rows, [second[k]], [self.counts[k]], lr=lr, lr_decay=0.0,
                       weight_decay=decay, eps=ADAGRAD_EPS, maximize=False)  # fmt: skip
            elif self.family == "rmsprop":
                kernel(*rows, [second[k]], [], [first[k]], [self.counts[k]], foreach=False,
                       lr=lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS, weight_decay=decay,
                       momentum=h["momentum"], centered=False)  # fmt: skip
            else:
                kernel(*rows, [first[k]], [second[k]], [], [self.counts[k]], amsgrad=False,
                       lr=lr, beta1=h["beta1"], beta2=h["beta2"], weight_decay=decay,
                       eps=ADAM_EPS, maximize=False)  # fmt: skip

    # Each update: parameters, gradients, learning rates, hyperparameters, the two state buffers.
    def _sgd(self, p: Tensor, g: Tensor, lr: Tensor, h: dict, buf: Tensor, _: Tensor) -> None:
        g = g + h["weight_decay"] * p
        if self.steps == 1:  # torch starts the momentum buffer at the first gradient
            buf.copy_(g)
        else:
            buf.mul_(h["momentum"]).add_(g)
        p.sub_(lr * torch.where(h["nesterov"], g + h["momentum"] * buf, buf))

    def _adam(self, p: Tensor, g: Tensor, lr: Tensor, h: dict, m: Tensor, v: Tensor) -> None:
        self._moments(p, g + h["weight_decay"] * p, lr, h, m, v)

    def _adamw(self, p: Tensor, g: Tensor, lr: Tensor, h: dict, m: Tensor, v: Tensor) -> None:
        p.mul_(1 - lr * h["weight_decay"])
        self._moments(p, g, lr, h, m, v)

    def _moments(self, p: Tensor, g: Tensor, lr: Tensor, h: dict, m: Tensor, v: Tensor) -> None:
        beta1, beta2 = h["beta1"], h["beta2"]
        m.lerp_(g, h["1-beta1"])
        v.mul_(beta2).addcmul_(g, g * h["1-beta2"])
        correction1 = 1 - beta1**self.steps  # [K, 1]: cheap; the [K, P] work is below
        correction2 = torch.sqrt(1 - beta2**self.steps)
        denom = v.sqrt().div_(correction2).add_(ADAM_EPS)
        p.sub_(m.div(denom).mul_(lr / correction1))

    def _rmsprop(
        self, p: Tensor, g: Tensor, lr: Tensor, h: dict, buf: Tensor, square: Tensor
    ) -> None:
        g = g + h["weight_decay"] * p
        square.mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
        buf.mul_(h["momentum"]).add_(g / (square.sqrt() + RMSPROP_EPS))
        p.sub_(lr * buf)

    def _adagrad(self, p: Tensor, g: Tensor, lr: Tensor, h: dict, _: Tensor, total: Tensor) -> None:
        g = g + h["weight_decay"] * p
        total.addcmul_(g, g)
        p.sub_(lr * g / (total.sqrt() + ADAGRAD_EPS))

    @torch.no_grad()
    def copy_member(self, target: int, source: int, config: TrainConfig) -> None:
        """Member `target` takes member `source`'s optimizer state (momentum, moments, the
        fused kernels' step count) and `config`'s hyperparameters (population-based training's
        exploit)."""
        if self.first is not None and self.second is not None:
            self.first[target], self.second[target] = self.first[source], self.second[source]
        self.counts[target] = self.counts[source]
        for name in HYPER_FIELDS:
            self.hyper[name][target] = float(getattr(config, name))
        self.clipping = self.clipping or config.grad_clip > 0
        self._derive()

    def keep(self, index: torch.Tensor) -> None:
        """Follow `StackedMLP.keep`: only the kept members' hyperparameters and state."""
        self.hyper = {name: value[index] for name, value in self.hyper.items()}
        self._derive()
        if self.first is not None and self.second is not None:
            self.first, self.second = self.first[index], self.second[index]
        self.counts = self.counts[index]
