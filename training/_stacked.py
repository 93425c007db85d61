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

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from training.config import TrainConfig
from training.model import ACTIVATION_MODULES, build_model

# The per-layer gradients are views into one buffer with gaps between members, which autograd
# notes as a layout it did not choose; it still accumulates into them in place, as intended.
LAYOUT_WARNING = "grad and param do not obey the gradient layout"
# A drawing member's part of a dropout mask buffer: the view, the member's rate, its RNG stream.
_Region = tuple[torch.Tensor, float, torch.Generator]


# `TrainConfig` fields that neither shape the model nor draw from the RNG while it is built
# (`build_model`'s dropout layers draw only in training). Members that differ only in these start
# from the same weights, so each distinct model is built once; any other field, including one
# added later, keeps members apart.
TRAINING_ONLY_FIELDS = frozenset({
    "optimizer", "learning_rate", "momentum", "nesterov", "beta1", "beta2", "batch_size",
    "max_epochs", "patience", "weight_decay", "dropout", "lr_schedule", "warmup_epochs",
    "grad_clip",
})  # fmt: skip


def _model_key(config: TrainConfig) -> tuple[Any, ...]:
    return tuple(
        (f.name, getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.name not in TRAINING_ONLY_FIELDS
    )


class StackedMLP:
    """The group's parameters (leading dimension: member) and its forward pass.

    Every parameter of every member lives in one `[K, P]` buffer (`flat`), its gradient in
    another (`grad`); the per-layer tensors are views into them. So the optimizer, clipping and
    the finiteness check are a few whole-buffer operations per step, however deep the model.
    """

    def __init__(
        self,
        configs: Sequence[TrainConfig],
        n_in: int,
        n_out: int,
        seed: int,
        device: torch.device,
    ) -> None:
        first = configs[0]
        self.n_layers, self.batch_norm = first.n_layers, first.batch_norm
        self.activation = ACTIVATION_MODULES[first.activation]()
        self.widths = [c.width for c in configs]
        width = max(self.widths) if self.n_layers else 0
        sizes = [n_in] + [width] * self.n_layers + [n_out]
        shapes = [(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
        self._layout: dict[str, tuple[int, tuple[int, ...]]] = {}  # name -> (offset, shape)
        for name, shape in [
            *((f"weight{i}", s) for i, s in enumerate(shapes)),
            *((f"bias{i}", (1, s[1])) for i, s in enumerate(shapes)),
            *(
                (f"{kind}{i}", (width,))
                for kind in ("scale", "shift")
                for i in range(self.n_layers * self.batch_norm)
            ),
        ]:
            self._layout[name] = (sum(math.prod(v[1]) for v in self._layout.values()), shape)
        k, size = len(configs), sum(math.prod(v[1]) for v in self._layout.values())
        self.flat, self.grad = torch.zeros(k, size), torch.zeros(k, size)
        self.running_mean = [torch.zeros(k, width) for _ in range(self.n_layers * self.batch_norm)]
        self.running_var = [torch.ones(k, width) for _ in self.running_mean]
        self.bn_steps = 0
        self.rng_states: list[torch.Tensor] = []  # per member: global RNG after its init
        torch.manual_seed(seed)  # as `start_run`: each member starts where its solo run does
        seeded = torch.get_rng_state()  # restoring it is much cheaper than seeding again
        built: dict[tuple[Any, ...], tuple[torch.nn.Sequential, torch.Tensor]] = {}
        for member, config in enumerate(configs):
            key = _model_key(config)
            if key not in built:  # same seed, same model fields: same initial weights
                torch.set_rng_state(seeded)
                built[key] = build_model(config, n_in, n_out), torch.get_rng_state()
            model, state = built[key]
            self._copy_in(member, model)
            self.rng_states.append(state)
        self.flat, self.grad = self.flat.to(device), self.grad.to(device)
        self.running_mean = [t.to(device) for t in self.running_mean]
        self.running_var = [t.to(device) for t in self.running_var]
        self._bind()

    def _view(self, buffer: torch.Tensor, name: str) -> torch.Tensor:
        offset, shape = self._layout[name]
        return buffer[:, offset : offset + math.prod(shape)].view(-1, *shape)

    def _bind(self) -> None:
        """Leaf tensors viewing `flat`, whose gradients accumulate in place into `grad`."""

        def leaves(kind: str, count: int) -> list[torch.Tensor]:
            out = []
            for i in range(count):
                leaf = self._view(self.flat, f"{kind}{i}").requires_grad_()
                leaf.grad = self._view(self.grad, f"{kind}{i}")
                out.append(leaf)
            return out

        norms = self.n_layers * self.batch_norm
        self.weights = leaves("weight", self.n_layers + 1)
        self.biases = leaves("bias", self.n_layers + 1)
        self.bn_scale, self.bn_shift = leaves("scale", norms), leaves("shift", norms)

    def _copy_in(self, member: int, model: torch.nn.Sequential) -> None:
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        norms = [m for m in model if isinstance(m, torch.nn.BatchNorm1d)]
        with torch.no_grad():
            for layer, linear in enumerate(linears):
                rows, cols = linear.in_features, linear.out_features
                self._view(self.flat, f"weight{layer}")[member, :rows, :cols] = linear.weight.T
                self._view(self.flat, f"bias{layer}")[member, 0, :cols] = linear.bias
            for layer, norm in enumerate(norms):
                cols = norm.num_features
                self._view(self.flat, f"scale{layer}")[member, :cols] = norm.weight
                self._view(self.flat, f"shift{layer}")[member, :cols] = norm.bias

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
                h = dropout.apply(h, layer)
        return torch.baddbmm(self.biases[-1], h, self.weights[-1])

    def _norm(self, layer: int, h: torch.Tensor, training: bool) -> torch.Tensor:
        """Batch norm per (member, unit): the group as one `[rows, K * width]` batch."""
        k, rows, width = h.shape
        flat = h.transpose(0, 1).reshape(rows, k * width)
        out = F.batch_norm(
            flat,
            self.running_mean[layer].view(-1),
            self.running_var[layer].view(-1),
            self.bn_scale[layer].reshape(-1),
            self.bn_shift[layer].reshape(-1),
            training=training,
        )
        if training and layer == 0:
            self.bn_steps += 1
        return out.view(rows, k, width).transpose(0, 1)

    def finite_members(self) -> torch.Tensor:
        """Per member: whether all its parameters are finite."""
        return torch.isfinite(self.flat).all(1)

    def keep(self, index: torch.Tensor) -> None:
        """Drop the members not in `index` (stopped ones stop costing compute)."""
        self.flat, self.grad = self.flat[index], self.grad[index]
        self.running_mean = [t[index] for t in self.running_mean]
        self.running_var = [t[index] for t in self.running_var]
        self._bind()
        kept = index.tolist()
        self.widths = [self.widths[i] for i in kept]
        self.rng_states = [self.rng_states[i] for i in kept]

    @torch.no_grad()
    def copy_member(self, target: int, source: int) -> None:
        """Member `target` takes member `source`'s parameters and batch-norm statistics
        (population-based training's exploit; both must have one width)."""
        self.flat[target] = self.flat[source]
        for stats in (*self.running_mean, *self.running_var):
            stats[target] = stats[source]

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
        self,
        rates: Sequence[float],
        rng_states: Sequence[torch.Tensor],
        widths: Sequence[int],
        device: torch.device,
        seed: int,
        *,
        exact: bool,
    ) -> None:
        self.device, self.widths = device, list(widths)
        self.rates = list(rates)
        self.exact = exact
        # exact: per (layer, rows), a mask buffer and each drawing member's region of it
        self._buffers: dict[tuple[int, int], tuple[torch.Tensor, list[_Region]]] = {}
        if self.exact:
            self.generators: list[torch.Generator | None] = [
                torch.Generator().set_state(state) if rate > 0 else None
                for rate, state in zip(rates, rng_states, strict=True)
            ]
            # float32 1 / (1 - rate), as `nn.Dropout`'s `div_(1 - rate)` computes it
            self.scale = torch.ones(len(rates)).div_(torch.tensor([1.0 - r for r in rates]))
            self.scale = self.scale.view(-1, 1, 1)
        else:
            self.generator = torch.Generator(device=device).manual_seed(seed)
            self.keep_prob = torch.tensor([1.0 - r for r in rates], device=device).view(-1, 1, 1)

    def apply(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """`h` (`[K, rows, width]`, hidden layer `layer`) with each member's dropout applied."""
        if not any(self.rates):
            return h
        if not self.exact:
            draw = torch.bernoulli(self.keep_prob.expand(h.shape), generator=self.generator)
            return h * (draw / self.keep_prob)
        mask, regions = self._buffer(layer, h)
        for region, rate, gen in regions:  # exactly `nn.Dropout`'s draw, on the member's stream
            region.bernoulli_(1.0 - rate, generator=gen)
        return h * mask.mul_(self.scale)  # 0 or 1 / (1 - rate): `nn.Dropout`'s values exactly

    def _buffer(self, layer: int, h: torch.Tensor) -> tuple[torch.Tensor, list[_Region]]:
        """The mask buffer of `layer` at `h`'s rows, reused step after step (the previous
        step's backward is done with it): members without dropout hold 1, padded units 0, and
        each drawing member's region is redrawn in place."""
        key = (layer, h.shape[1])
        if key not in self._buffers:
            mask = torch.zeros(h.shape, dtype=h.dtype)
            regions: list[_Region] = []
            for member, (rate, gen) in enumerate(zip(self.rates, self.generators, strict=True)):
                region = mask[member, :, : self.widths[member]]
                if gen is None:
                    region.fill_(1.0)
                else:
                    regions.append((region, rate, gen))
            self._buffers[key] = mask, regions
        return self._buffers[key]

    def set_rate(self, member: int, rate: float, seed: int) -> None:
        """Member `member` drops units with probability `rate` from now on (a new draw stream,
        seeded by `seed`, when it had none)."""
        self.rates[member] = rate
        self._buffers.clear()  # their regions hold the old rates and streams
        if self.exact:
            if rate > 0 and self.generators[member] is None:
                self.generators[member] = torch.Generator().manual_seed(seed)
            self.scale[member] = torch.ones(1).div_(torch.tensor([1.0 - rate]))
        else:
            self.keep_prob[member] = 1.0 - rate

    def keep(self, index: torch.Tensor) -> None:
        kept = index.tolist()
        self.rates = [self.rates[i] for i in kept]
        self.widths = [self.widths[i] for i in kept]
        if self.exact:
            self.generators = [self.generators[i] for i in kept]
            self.scale = self.scale[index]
            self._buffers.clear()
        else:
            self.keep_prob = self.keep_prob[index]
