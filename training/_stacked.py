"""K MLPs of one group shape as one stacked model: weights `[K, in, out]`, one `baddbmm` a layer.

The structural recipe elements stack too. Periodic numeric embeddings keep their per-member
frequencies `[K, n, f]`, weights `[K, n, 2f, d]` and biases `[K, n, d]`. A TabM-mini ensemble of
`k` (shared by the group) runs its k copies of each row as rows of the shared layers: activations
`[K, rows * k, width]` in the `[rows, k, width]` order of the solo model, so its batch norm (over
rows and copies, as `MemberBatchNorm`) and its dropout masks are the solo run's; the input scale
is `[K, k, F]` and the head `[K, k, width, C]`.

Each member is first built by `build_model` under its own `torch.manual_seed(seed)` (so it starts
from exactly the weights its solo `train` run starts from) and copied in; a member narrower than
the group's width is zero-padded. Padding is exact: a padded unit has zero weights in and out and
a zero bias, so its activation (relu, gelu, silu, tanh, leaky relu and batch norm all map 0 to 0)
and every gradient reaching it stay 0, and weight decay keeps 0 at 0.

Dropout on CPU draws each member's random levels from a generator holding the global RNG state
its solo run has after initialisation, as `model.Dropout` draws them (`draw_keep_mask`), so
members match their solo runs; one comparison against each member's threshold then makes the
whole group's mask. Elsewhere one draw covers the whole group (CUDA's solo stream cannot be
reproduced anyway).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from training.config import TrainConfig
from training.data import PreparedData
from training.model import (
    ACTIVATION_MODULES,
    N_FREQUENCIES,
    EnsembleHead,
    EnsembleInput,
    FeatureEmbedding,
    build_model,
    draw_words,
    dropout_scale,
    keep_threshold,
)

# The per-layer gradients are views into one buffer with gaps between members, which autograd
# notes as a layout it did not choose; it still accumulates into them in place, as intended.
LAYOUT_WARNING = "grad and param do not obey the gradient layout"
# A drawing member's dropout draw: the int64 words drawn in place, the member's region of the
# levels they are copied into (None: the words are that region itself), its RNG stream.
_Draw = tuple[torch.Tensor, torch.Tensor | None, torch.Generator]
# The level of a padded unit: below every member's threshold but a rate that rounds to 0 (whose
# padded units then keep 1; their activations are exactly 0 either way).
PADDED_LEVEL = -(2**15)


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


@dataclasses.dataclass(frozen=True)
class Columns:
    """The input columns of a data variant, as `build_model` reads them: `n_in` in all, the
    leading `n_numeric` numeric, the trailing ones integer codes of `cardinalities`."""

    n_in: int
    n_numeric: int
    cardinalities: tuple[int, ...] = ()

    @classmethod
    def of(cls, data: PreparedData) -> Columns:
        n_in, codes = data.x_train.shape[1], tuple(data.cardinalities)
        n_numeric = n_in - len(codes) if data.n_numeric is None else data.n_numeric
        return cls(n_in, n_numeric, codes)

    def periodic(self, config: TrainConfig) -> bool:
        return config.num_embedding == "periodic" and self.n_numeric > 0

    def embedded(self, config: TrainConfig) -> int:
        """Columns the first linear layer sees (`FeatureEmbedding.out_features`): each code
        column, and with periodic embeddings each numeric one, as `embedding_dim` values."""
        embedded = len(self.cardinalities) + self.n_numeric * self.periodic(config)
        return self.n_in + embedded * (config.embedding_dim - 1)

    def row_units(self, config: TrainConfig, n_out: int) -> int:
        """Activation elements per row and member in the widest layer of the stacked model (the
        periodic embedding's cos/sin features included), for sizing groups and evaluation."""
        periodic = 2 * N_FREQUENCIES * self.n_numeric * self.periodic(config)
        width = config.width if config.n_layers else 0
        widest = max(width, self.embedded(config), periodic, n_out, 1)
        return widest * config.ensemble_size


class StackedMLP:
    """The group's parameters (leading dimension: member) and its forward pass.

    Every parameter of every member lives in one `[K, P]` buffer (`flat`), its gradient in
    another (`grad`); the per-layer tensors are views into them. So the optimizer, clipping and
    the finiteness check are a few whole-buffer operations per step, however deep the model.
    """

    def __init__(
        self,
        configs: Sequence[TrainConfig],
        columns: Columns,
        n_out: int,
        seed: int,
        device: torch.device,
    ) -> None:
        first = configs[0]
        self.n_layers, self.batch_norm = first.n_layers, first.batch_norm
        self.activation = ACTIVATION_MODULES[first.activation]()
        self.k, self.columns = first.ensemble_size, columns
        self.periodic = columns.periodic(first)
        # `build_model` has an input layer (`FeatureEmbedding`)
        self.embeds = first.num_embedding != "none" or bool(columns.cardinalities)
        self.widths = [c.width for c in configs]
        self.units = columns.row_units(max(configs, key=lambda c: c.width), n_out)
        width = max(self.widths) if self.n_layers else 0
        sizes = [columns.embedded(first)] + [width] * self.n_layers + [n_out]
        shapes = [(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
        head = (self.k,) if self.k > 1 else ()  # an ensemble's head: one layer per copy
        n, d = columns.n_numeric, first.embedding_dim
        self._layout: dict[str, tuple[int, tuple[int, ...]]] = {}  # name -> (offset, shape)
        periodic = [
            ("frequencies", (n, N_FREQUENCIES)),
            ("plr_weight", (n, 2 * N_FREQUENCIES, d)),
            ("plr_bias", (n, d)),
        ]
        for name, shape in [
            *(periodic if self.periodic else ()),
            *((f"codes{j}", (size, d)) for j, size in enumerate(columns.cardinalities)),
            *((("ensemble_scale", (self.k, sizes[0])),) if self.k > 1 else ()),
            *((f"weight{i}", s) for i, s in enumerate(shapes[:-1])),
            (f"weight{self.n_layers}", (*head, *shapes[-1])),
            *((f"bias{i}", (1, s[1])) for i, s in enumerate(shapes[:-1])),
            (f"bias{self.n_layers}", (self.k, n_out)),
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
        built: dict[tuple[Any, ...], tuple[int, torch.Tensor]] = {}  # -> (member, RNG after)
        for member, config in enumerate(configs):
            key = _model_key(config)
            if key in built:  # same seed, same model fields: the same initial row
                self.flat[member] = self.flat[built[key][0]]
            else:
                torch.set_rng_state(seeded)
                model = build_model(
                    config,
                    columns.n_in,
                    n_out,
                    n_numeric=columns.n_numeric,
                    cardinalities=columns.cardinalities,
                )
                self._copy_in(member, model)
                built[key] = member, torch.get_rng_state()
            self.rng_states.append(built[key][1])
        self.flat, self.grad = self.flat.to(device), self.grad.to(device)
        self.running_mean = [t.to(device) for t in self.running_mean]
        self.running_var = [t.to(device) for t in self.running_var]
        self._bind()

    def _view(self, buffer: torch.Tensor, name: str) -> torch.Tensor:
        offset, shape = self._layout[name]
        return buffer[:, offset : offset + math.prod(shape)].view(-1, *shape)

    def _bind(self) -> None:
        """Leaf tensors viewing `flat`, whose gradients accumulate in place into `grad`."""

        def leaf(name: str) -> torch.Tensor:
            out = self._view(self.flat, name).requires_grad_()
            out.grad = self._view(self.grad, name)
            return out

        norms = self.n_layers * self.batch_norm
        self.weights = [leaf(f"weight{i}") for i in range(self.n_layers + 1)]
        self.biases = [leaf(f"bias{i}") for i in range(self.n_layers + 1)]
        self.bn_scale = [leaf(f"scale{i}") for i in range(norms)]
        self.bn_shift = [leaf(f"shift{i}") for i in range(norms)]
        self.extra = {  # the embeddings' and the ensemble's parameters, where there are any
            name: leaf(name)
            for name in self._layout
            if not name.startswith(("weight", "bias", "scale", "shift"))
        }

    def _copy_in(self, member: int, model: torch.nn.Sequential) -> None:
        """Member `member`'s parameters from its `build_model` model (narrower: zero-padded)."""

        def put(name: str, value: torch.Tensor) -> None:
            target = self._view(self.flat, name)[member]
            target[tuple(slice(0, size) for size in value.shape)] = value

        layer = norm = 0
        with torch.no_grad():
            for module in model:
                if isinstance(module, FeatureEmbedding):
                    if module.periodic:
                        put("frequencies", module.frequencies)
                        put("plr_weight", module.weight)
                        put("plr_bias", module.bias)
                    for j, table in enumerate(module.embeddings.parameters()):  # one each
                        put(f"codes{j}", table)
                elif isinstance(module, EnsembleInput):
                    put("ensemble_scale", module.scale)
                elif isinstance(module, torch.nn.Linear | EnsembleHead):
                    weight = (
                        module.weight.T if isinstance(module, torch.nn.Linear) else module.weight
                    )
                    put(f"weight{layer}", weight)
                    put(f"bias{layer}", module.bias.view(-1, module.bias.shape[-1]))
                    layer += 1
                elif isinstance(module, torch.nn.BatchNorm1d):
                    put(f"scale{norm}", module.weight)
                    put(f"shift{norm}", module.bias)
                    norm += 1

    def forward(self, x: torch.Tensor, dropout: Any = None) -> torch.Tensor:
        """Outputs of every member on the same rows `x` (`[rows, n_in]`): `[K, rows, n_out]`,
        or in training an ensemble's every copy, `[K, rows, k, n_out]`.

        `dropout` (a `DropoutMasks`, training only) multiplies each hidden layer's output; batch
        norm uses batch statistics (and updates the running ones) exactly when it is given.
        """
        training = dropout is not None
        h = self._inputs(x)
        for layer in range(self.n_layers):
            h = torch.baddbmm(self.biases[layer], h, self.weights[layer])
            if self.batch_norm:
                h = self._norm(layer, h, training)
            h = self.activation(h)
            if dropout is not None:
                h = dropout.apply(h, layer)
        if self.k == 1:
            return torch.baddbmm(self.biases[-1], h, self.weights[-1])
        return self._ensemble_head(h, training)

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The first layer's input, `[K, rows * k, columns]`: the embeddings (as
        `FeatureEmbedding`), then an ensemble's k scaled copies of each row (as `EnsembleInput`)."""
        members, codes = len(self.widths), len(self.columns.cardinalities)
        n_dense = x.shape[1] - codes
        if self.periodic:
            n = self.columns.n_numeric
            v = 2 * math.pi * x[None, :, :n, None] * self.extra["frequencies"].unsqueeze(1)
            v = torch.cat([torch.cos(v), torch.sin(v)], dim=3)
            plr = torch.einsum("mbnf,mnfd->mbnd", v, self.extra["plr_weight"])
            plr = torch.relu(plr + self.extra["plr_bias"].unsqueeze(1))
            parts = [plr.flatten(2), x[None, :, n:n_dense].expand(members, -1, -1)]
        else:
            parts = [x[None, :, :n_dense].expand(members, -1, -1)]
        parts += [self.extra[f"codes{j}"][:, x[:, n_dense + j].long()] for j in range(codes)]
        h = torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]
        if self.k == 1:
            return h
        return (h.unsqueeze(2) * self.extra["ensemble_scale"].unsqueeze(1)).flatten(1, 2)

    def _ensemble_head(self, h: torch.Tensor, training: bool) -> torch.Tensor:
        """`EnsembleHead` per member: every copy's output in training, the ensemble's
        prediction (mean value, or log of the mean class probabilities) otherwise."""
        h = h.view(h.shape[0], -1, self.k, h.shape[2])
        out = torch.einsum("mbkd,mkdc->mbkc", h, self.weights[-1]) + self.biases[-1].unsqueeze(1)
        if training:
            return out
        if out.shape[3] == 1:
            return out.mean(2)
        return torch.logsumexp(torch.log_softmax(out.float(), dim=3), dim=2) - math.log(self.k)

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
        """Member `target` takes member `source`'s parameters (its row of `flat` holds every
        one: layers, batch norm's scale and shift, the embeddings' and the ensemble's) and
        batch-norm statistics (population-based training's exploit; both of one width)."""
        self.flat[target] = self.flat[source]
        for stats in (*self.running_mean, *self.running_var):
            stats[target] = stats[source]

    def member_state(self, member: int, config: TrainConfig) -> dict[str, torch.Tensor]:
        """Member `member`'s weights as the `state_dict` of its `build_model` (on CPU)."""
        width, state, index = self.widths[member], {}, 0

        def put(name: str, tensor: torch.Tensor) -> None:
            state[f"{index}.{name}"] = tensor.detach().to("cpu", copy=True).contiguous()

        if self.periodic:
            put("frequencies", self.extra["frequencies"][member])
            put("weight", self.extra["plr_weight"][member])
            put("bias", self.extra["plr_bias"][member])
        for j in range(len(self.columns.cardinalities)):
            put(f"embeddings.{j}.weight", self.extra[f"codes{j}"][member])
        index += self.embeds
        if self.k > 1:
            put("scale", self.extra["ensemble_scale"][member])
            index += 1
        for layer in range(self.n_layers):
            put("weight", self.weights[layer][member, : self._rows(layer, width), :width].T)
            put("bias", self.biases[layer][member, 0, :width])
            index += 1
            if self.batch_norm:
                put("weight", self.bn_scale[layer][member, :width])
                put("bias", self.bn_shift[layer][member, :width])
                put("running_mean", self.running_mean[layer][member, :width])
                put("running_var", self.running_var[layer][member, :width])
                put("num_batches_tracked", torch.tensor(self.bn_steps))
                index += 1
            index += 1 + (config.dropout > 0)  # the activation, then the dropout if any
        rows = self._rows(self.n_layers, width)
        if self.k > 1:
            put("weight", self.weights[-1][member, :, :rows])
            put("bias", self.biases[-1][member])
        else:
            put("weight", self.weights[-1][member, :rows].T)
            put("bias", self.biases[-1][member, 0])
        return state

    def _rows(self, layer: int, width: int) -> int:
        """Input rows of `layer`'s weight that a member of `width` uses (not the padding)."""
        return self._layout["weight0"][1][-2] if layer == 0 else width


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
        # exact: per (layer, rows), the levels, the mask buffer and the drawing members' draws
        self._buffers: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor, list[_Draw]]] = {}
        if self.exact:
            self.generators: list[torch.Generator | None] = [
                torch.Generator().set_state(state) if rate > 0 else None
                for rate, state in zip(rates, rng_states, strict=True)
            ]
            self.scale = torch.cat([dropout_scale(rate) for rate in rates]).view(-1, 1, 1)
            self.thresholds = torch.tensor(
                [self._threshold(m) for m in range(len(rates))], dtype=torch.int16
            ).view(-1, 1, 1)
        else:
            self.generator = torch.Generator(device=device).manual_seed(seed)
            self.keep_prob = torch.tensor([1.0 - r for r in rates], device=device).view(-1, 1, 1)

    def _threshold(self, member: int) -> int:
        """The level from which `member`'s units are kept; a member without dropout keeps its
        units (level 0) and not its padding (`PADDED_LEVEL`)."""
        drawing = self.generators[member] is not None
        return keep_threshold(self.rates[member]) if drawing else PADDED_LEVEL + 1

    def apply(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """`h` (`[K, rows, width]`, hidden layer `layer`) with each member's dropout applied."""
        if not any(self.rates):
            return h
        if not self.exact:
            draw = torch.rand(h.shape, generator=self.generator, device=h.device)
            return h * (draw >= 1.0 - self.keep_prob).to(h.dtype).div_(self.keep_prob)
        levels, mask, draws = self._buffer(layer, h)
        for words, region, generator in draws:  # `model.Dropout`'s draw, on the member's stream
            draw_words(words, generator)
            if region is not None:
                region.copy_(words.view(torch.int16)[: region.numel()].view(region.shape))
        torch.ge(levels, self.thresholds, out=mask)
        return h * mask.mul_(self.scale)  # 0 or 1 / (1 - rate): `model.Dropout`'s values exactly

    def _buffer(
        self, layer: int, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, list[_Draw]]:
        """The int16 levels and float mask of `layer` at `h`'s rows, reused step after step (the
        previous step's backward is done with the mask), and each drawing member's draw.

        A member's levels are a row of a `[K, 4 * ceil(rows * width / 4)]` buffer, so a member as
        wide as the group draws its 64-bit words straight into them; a narrower one's words are
        copied into its unpadded region."""
        key = (layer, h.shape[1])
        if key not in self._buffers:
            members, rows, width = h.shape
            n = rows * width
            store = torch.zeros(members, -(-n // 4) * 4, dtype=torch.int16)
            levels = store[:, :n].view(members, rows, width)
            draws: list[_Draw] = []
            for member, generator in enumerate(self.generators):
                used = self.widths[member]
                levels[member, :, used:] = PADDED_LEVEL
                if generator is None:
                    continue
                if used == width:
                    draws.append((store[member].view(torch.int64), None, generator))
                else:
                    words = torch.empty((rows * used + 3) // 4, dtype=torch.int64)
                    draws.append((words, levels[member, :, :used], generator))
            self._buffers[key] = levels, torch.empty(h.shape, dtype=h.dtype), draws
        return self._buffers[key]

    def set_rate(self, member: int, rate: float, seed: int) -> None:
        """Member `member` drops units with probability `rate` from now on (a new draw stream,
        seeded by `seed`, when it had none)."""
        self.rates[member] = rate
        self._buffers.clear()  # their draws hold the old streams
        if self.exact:
            if rate > 0 and self.generators[member] is None:
                self.generators[member] = torch.Generator().manual_seed(seed)
            self.scale[member] = dropout_scale(rate)
            self.thresholds[member] = self._threshold(member)
        else:
            self.keep_prob[member] = 1.0 - rate

    def keep(self, index: torch.Tensor) -> None:
        kept = index.tolist()
        self.rates = [self.rates[i] for i in kept]
        self.widths = [self.widths[i] for i in kept]
        if self.exact:
            self.generators = [self.generators[i] for i in kept]
            self.scale, self.thresholds = self.scale[index], self.thresholds[index]
            self._buffers.clear()
        else:
            self.keep_prob = self.keep_prob[index]
