"""K MLPs of one group shape as one stacked model: weights `[K, in, out]`, one `baddbmm` a layer.

Each member is first built by `build_model` under its own `torch.manual_seed(seed)` (so it starts
from exactly the weights its solo `train` run starts from) and copied in; a member narrower than
the group's width is zero-padded. Padding is exact: a padded unit has zero weights in and out and
a zero bias, so its activation (relu, gelu, silu, tanh, leaky relu and batch norm all map 0 to 0)
and every gradient reaching it stay 0, and weight decay keeps 0 at 0.

Dropout on CPU draws each member's masks from a generator holding the global RNG state its solo
run has after initialisation, with the same `bernoulli_` call, so members match their solo runs;
elsewhere one draw covers the whole group (CUDA's solo stream cannot be reproduced anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from training.config import TrainConfig
from training.model import ACTIVATION_MODULES, build_model


class StackedMLP:
    """The group's parameters (leading dimension: member) and its forward pass."""

    def __init__(
        self, configs: Sequence[TrainConfig], n_in: int, n_out: int, seed: int,
        device: torch.device,
    ) -> None:
        first = configs[0]
        self.n_layers, self.batch_norm = first.n_layers, first.batch_norm
        self.activation = ACTIVATION_MODULES[first.activation]()
        self.widths = [c.width for c in configs]
        width = max(self.widths) if self.n_layers else 0
        sizes = [n_in] + [width] * self.n_layers + [n_out]
        k = len(configs)
        self.weights = [torch.zeros(k, a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
        self.biases = [torch.zeros(k, 1, b) for b in sizes[1:]]
        self.bn_scale = [torch.zeros(k, width) for _ in range(self.n_layers * self.batch_norm)]
        self.bn_shift = [torch.zeros(k, width) for _ in self.bn_scale]
        self.running_mean = [torch.zeros(k, width) for _ in self.bn_scale]
        self.running_var = [torch.ones(k, width) for _ in self.bn_scale]
        self.bn_steps = 0
        self.rng_states: list[torch.Tensor] = []  # per member: global RNG after its init
        for member, config in enumerate(configs):
            torch.manual_seed(seed)  # as `start_run`: the member starts where its solo run does
            self._copy_in(member, build_model(config, n_in, n_out))
            self.rng_states.append(torch.get_rng_state())
        self._move(device)

    def _copy_in(self, member: int, model: torch.nn.Sequential) -> None:
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        norms = [m for m in model if isinstance(m, torch.nn.BatchNorm1d)]
        with torch.no_grad():
            for layer, linear in enumerate(linears):
                rows, cols = linear.in_features, linear.out_features
                self.weights[layer][member, :rows, :cols] = linear.weight.T
                self.biases[layer][member, 0, :cols] = linear.bias
            for layer, norm in enumerate(norms):
                cols = norm.num_features
                self.bn_scale[layer][member, :cols] = norm.weight
                self.bn_shift[layer][member, :cols] = norm.bias

    def _move(self, device: torch.device) -> None:
        for group in (self.weights, self.biases, self.bn_scale, self.bn_shift):
            group[:] = [t.to(device).requires_grad_() for t in group]
        for group in (self.running_mean, self.running_var):
            group[:] = [t.to(device) for t in group]

    def parameters(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases, *self.bn_scale, *self.bn_shift]

    def forward(self, x: torch.Tensor, dropout: Any = None) -> torch.Tensor:
        """Outputs `[K, rows, n_out]` of every member on the same rows `x` (`[rows, n_in]`).

        `dropout` (a `DropoutMasks`, training only) multiplies each hidden layer's output; batch
        norm uses batch statistics (and updates the running ones) exactly when it is given.
        """
        training = dropout is not None
        h = x.unsqueeze(0).expand(len(self.widths), *x.shape)
        for layer in range(self.n_layers):
            h = torch.baddbmm(self.biases[layer], h, self.weights[layer])
            if self.batch_norm:
                h = self._norm(layer, h, training)
            h = self.activation(h)
            if dropout is not None:
                h = dropout.apply(h)
        return torch.baddbmm(self.biases[-1], h, self.weights[-1])

    def _norm(self, layer: int, h: torch.Tensor, training: bool) -> torch.Tensor:
        """Batch norm per (member, unit): the group as one `[rows, K * width]` batch."""
        k, rows, width = h.shape
        flat = h.transpose(0, 1).reshape(rows, k * width)
        out = F.batch_norm(
            flat, self.running_mean[layer].view(-1), self.running_var[layer].view(-1),
            self.bn_scale[layer].view(-1), self.bn_shift[layer].view(-1), training=training,
        )
        if training and layer == 0:
            self.bn_steps += 1
        return out.view(rows, k, width).transpose(0, 1)

    def finite_members(self) -> torch.Tensor:
        """Per member: whether all its parameters are finite."""
        checks = [torch.isfinite(p.detach()).flatten(1).all(1) for p in self.parameters()]
        return torch.stack(checks).all(0)

    def keep(self, index: torch.Tensor) -> None:
        """Drop the members not in `index` (stopped ones stop costing compute)."""
        with torch.no_grad():
            for group in (self.weights, self.biases, self.bn_scale, self.bn_shift):
                group[:] = [t[index].requires_grad_() for t in group]
            for group in (self.running_mean, self.running_var):
                group[:] = [t[index] for t in group]
        kept = index.tolist()
        self.widths = [self.widths[i] for i in kept]
        self.rng_states = [self.rng_states[i] for i in kept]

    def member_state(self, member: int, config: TrainConfig) -> dict[str, torch.Tensor]:
        """Member `member`'s weights as the `state_dict` of its `build_model` (on CPU)."""
        width, state, index = self.widths[member], {}, 0

        def put(name: str, tensor: torch.Tensor) -> None:
            state[f"{index}.{name}"] = tensor.detach().to("cpu", copy=True).contiguous()

        for layer in range(self.n_layers + 1):
            rows = self.weights[layer].shape[1] if layer == 0 else width
            cols = width if layer < self.n_layers else self.weights[layer].shape[2]
            put("weight", self.weights[layer][member, :rows, :cols].T)
            put("bias", self.biases[layer][member, 0, :cols])
            index += 1
            if layer == self.n_layers:
                break
            if self.batch_norm:
                put("weight", self.bn_scale[layer][member, :width])
                put("bias", self.bn_shift[layer][member, :width])
                put("running_mean", self.running_mean[layer][member, :width])
                put("running_var", self.running_var[layer][member, :width])
                put("num_batches_tracked", torch.tensor(self.bn_steps))
                index += 1
            index += 1 + (config.dropout > 0)  # the activation, then the dropout if any
        return state


class DropoutMasks:
    """Per-member dropout for one group; see the module docstring for the two ways of drawing."""

    def __init__(
        self, rates: Sequence[float], rng_states: Sequence[torch.Tensor], widths: Sequence[int],
        device: torch.device, seed: int, *, exact: bool,
    ) -> None:
        self.device, self.widths = device, list(widths)
        self.rates = list(rates)
        self.exact = exact
        if self.exact:
            self.generators: list[torch.Generator | None] = [
                torch.Generator().set_state(state) if rate > 0 else None
                for rate, state in zip(rates, rng_states, strict=True)
            ]
        else:
            self.generator = torch.Generator(device=device).manual_seed(seed)
            self.keep_prob = torch.tensor([1.0 - r for r in rates], device=device).view(-1, 1, 1)

    def apply(self, h: torch.Tensor) -> torch.Tensor:
        """`h` (`[K, rows, width]`) with each member's dropout applied."""
        if not any(self.rates):
            return h
        if not self.exact:
            draw = torch.bernoulli(self.keep_prob.expand(h.shape), generator=self.generator)
            return h * (draw / self.keep_prob)
        mask = torch.ones(h.shape, dtype=h.dtype)
        for member, (rate, gen) in enumerate(zip(self.rates, self.generators, strict=True)):
            if gen is not None:  # exactly what `nn.Dropout` does on CPU, on the member's stream
                noise = torch.empty(h.shape[1], self.widths[member]).bernoulli_(
                    1.0 - rate, generator=gen
                )
                mask[member, :, : self.widths[member]] = noise.div_(1.0 - rate)
        return h * mask

    def keep(self, index: torch.Tensor) -> None:
        kept = index.tolist()
        self.rates = [self.rates[i] for i in kept]
        self.widths = [self.widths[i] for i in kept]
        if self.exact:
            self.generators = [self.generators[i] for i in kept]
        else:
            self.keep_prob = self.keep_prob[index]
