"""The five optimizers of `TrainConfig`, vectorised over a group's members.

Each member keeps its own learning rate (per step, from its schedule), weight decay, momentum,
Nesterov flag and betas as entries of `[K]` tensors, so one elementwise kernel updates every
member. The update formulas are torch's own (`torch.optim` with the defaults `build_optimizer`
uses), so a member follows its solo run up to float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from training.config import TrainConfig

ADAM_EPS = 1e-8  # torch.optim.Adam/AdamW default
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8  # torch.optim.RMSprop defaults
ADAGRAD_EPS = 1e-10  # torch.optim.Adagrad default
CLIP_EPS = 1e-6  # as nn.utils.clip_grad_norm_


class StackedOptimizer:
    """One optimizer family over stacked parameters whose first dimension is the member."""

    def __init__(
        self, configs: Sequence[TrainConfig], params: list[torch.Tensor], device: torch.device
    ) -> None:
        self.family = configs[0].optimizer
        self.params = params

        def column(name: str) -> torch.Tensor:
            return torch.tensor([float(getattr(c, name)) for c in configs], device=device)

        self.hyper = {name: column(name) for name in
                      ("weight_decay", "momentum", "beta1", "beta2", "grad_clip")}
        self.hyper["nesterov"] = column("nesterov").bool()
        self.steps = 0
        # per parameter: first and second state (what each family needs; unused ones stay None)
        self.first: list[torch.Tensor | None] = [None] * len(params)
        self.second: list[torch.Tensor | None] = [None] * len(params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def clip(self) -> None:
        """Per member, as `clip_grad_norm_`: scale its gradients to norm `grad_clip` (0: off)."""
        limit = self.hyper["grad_clip"]
        if not bool((limit > 0).any()):
            return
        squares = sum(p.grad.pow(2).flatten(1).sum(1) for p in self.params)
        coef = torch.clamp(limit / (torch.sqrt(squares) + CLIP_EPS), max=1.0)
        coef = torch.where(limit > 0, coef, torch.ones_like(coef))
        for p in self.params:
            p.grad.mul_(_per_member(coef, p))

    @torch.no_grad()
    def step(self, lr: torch.Tensor) -> None:
        """One update of every member with its learning rate `lr[k]`."""
        self.steps += 1
        update = getattr(self, f"_{self.family}")
        for i, p in enumerate(self.params):
            h = {name: _per_member(value, p) for name, value in self.hyper.items()}
            update(i, p, p.grad, _per_member(lr, p), h)

    def _sgd(self, i: int, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, h: dict) -> None:
        g = g + h["weight_decay"] * p
        buf = self.first[i]
        buf = g.clone() if buf is None else buf.mul_(h["momentum"]).add_(g)
        self.first[i] = buf
        p.sub_(lr * torch.where(h["nesterov"], g + h["momentum"] * buf, buf))

    def _adam(self, i: int, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, h: dict) -> None:
        self._adam_step(i, p, g + h["weight_decay"] * p, lr, h)

    def _adamw(self, i: int, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, h: dict) -> None:
        p.mul_(1 - lr * h["weight_decay"])
        self._adam_step(i, p, g, lr, h)

    def _adam_step(
        self, i: int, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, h: dict
    ) -> None:
        m, v = self._states(i, p)
        beta1, beta2 = h["beta1"], h["beta2"]
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g * (1 - beta2))
        correction1 = 1 - beta1**self.steps
        correction2 = torch.sqrt(1 - beta2**self.steps)
        p.sub_(lr / correction1 * m / (v.sqrt() / correction2 + ADAM_EPS))

    def _rmsprop(self, i: int, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, h: dict) -> None:
        buf, square = self._states(i, p)
        g = g + h["weight_decay"] * p
        square.mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
        buf.mul_(h["momentum"]).add_(g / (square.sqrt() + RMSPROP_EPS))
        p.sub_(lr * buf)

    def _adagrad(self, i: int, p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, h: dict) -> None:
        _, total = self._states(i, p)
        g = g + h["weight_decay"] * p
        total.addcmul_(g, g)
        p.sub_(lr * g / (total.sqrt() + ADAGRAD_EPS))

    def _states(self, i: int, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.first[i] is None:
            self.first[i], self.second[i] = torch.zeros_like(p), torch.zeros_like(p)
        return self.first[i], self.second[i]  # type: ignore[return-value]

    def keep(self, index: torch.Tensor, params: list[torch.Tensor]) -> None:
        """Follow `StackedMLP.keep`: the kept members' state and the new parameter tensors."""
        self.params = params
        self.hyper = {name: value[index] for name, value in self.hyper.items()}
        for states in (self.first, self.second):
            states[:] = [None if s is None else s[index] for s in states]


def _per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`[K]` values shaped to broadcast over a `[K, ...]` parameter."""
    return values.view(-1, *([1] * (like.dim() - 1)))


