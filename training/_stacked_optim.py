"""The five optimizers of `TrainConfig`, vectorised over a group's members.

Each member keeps its own learning rate (per step, from its schedule), weight decay, momentum,
Nesterov flag and betas as entries of `[K, 1]` tensors, and all its parameters are one row of
the group's `[K, P]` buffer (`StackedMLP.flat`), so a step is a handful of whole-buffer
kernels. The update formulas are torch's own (`torch.optim` with the defaults
`build_optimizer` uses), so a member follows its solo run up to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from training.config import TrainConfig

ADAM_EPS = 1e-8  # torch.optim.Adam/AdamW default
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8  # torch.optim.RMSprop defaults
ADAGRAD_EPS = 1e-10  # torch.optim.Adagrad default
CLIP_EPS = 1e-6  # as nn.utils.clip_grad_norm_
# The per-member `TrainConfig` values an update reads.
HYPER_FIELDS = ("weight_decay", "momentum", "beta1", "beta2", "grad_clip", "nesterov")


class StackedOptimizer:
    """One optimizer family over `[K, P]` parameters and gradients (row = member)."""

    def __init__(self, configs: Sequence[TrainConfig], device: torch.device) -> None:
        self.family = configs[0].optimizer

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

    def _derive(self) -> None:
        """The updates' constants, once rather than every step (again after a member changes)."""
        for beta in ("beta1", "beta2"):
            self.hyper[f"1-{beta}"] = 1 - self.hyper[beta]
        # no clipping as an infinite norm limit: its scale is exactly 1 (see `clip`)
        limit = self.hyper["grad_clip"]
        self.hyper["clip_limit"] = torch.where(limit > 0, limit, torch.full_like(limit, math.inf))

    def clip(self, grad: torch.Tensor) -> None:
        """Per member, as `clip_grad_norm_`: scale its gradient to norm `grad_clip` (0: off)."""
        if not self.clipping:
            return
        norm = torch.linalg.vector_norm(grad, dim=1, keepdim=True)
        grad.mul_(torch.clamp(self.hyper["clip_limit"] / (norm + CLIP_EPS), max=1.0))

    @torch.no_grad()
    def step(self, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor) -> None:
        """One update of every member's row of `p` with its learning rate `lr[k]`."""
        self.steps += 1
        if self.first is None or self.second is None:
            self.first, self.second = torch.zeros_like(p), torch.zeros_like(p)
        update = getattr(self, f"_{self.family}")
        update(p, g, lr.view(-1, 1), self.hyper, self.first, self.second)

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
        """Member `target` takes member `source`'s optimizer state (momentum, moments) and
        `config`'s hyperparameters (population-based training's exploit)."""
        if self.first is not None and self.second is not None:
            self.first[target], self.second[target] = self.first[source], self.second[source]
        for name in HYPER_FIELDS:
            self.hyper[name][target] = float(getattr(config, name))
        self.clipping = self.clipping or config.grad_clip > 0
        self._derive()

    def keep(self, index: torch.Tensor) -> None:
        """Follow `StackedMLP.keep`: only the kept members' hyperparameters and state."""
        self.hyper = {name: value[index] for name, value in self.hyper.items()}
        if self.first is not None and self.second is not None:
            self.first, self.second = self.first[index], self.second[index]
