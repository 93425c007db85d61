"""`train_many`: several configurations trained at once, each member as if it ran alone.

On the tables people tune MLPs for, a trial is mostly fixed cost (Python per step, GEMMs too
small to fill the cores or the GPU, one evaluation per epoch). Members that share a *group key*
(optimizer, batch size, depth, batch norm, activation; widths may differ, see `plan_groups`;
the recipe elements of `RECIPE_FIELDS` and the model structure of `STRUCTURE_FIELDS`) are
trained as one stacked model (`training._stacked`): one batched GEMM per layer, one vectorised
optimizer update, one shuffle and one gather per epoch for all, one vectorised evaluation per
epoch.
Every other hyperparameter (learning rate and schedule, warm-up, epochs, patience, weight decay,
dropout, momentum, Nesterov, betas, initialisation, clipping) stays per member. The recipe
elements that only change the data or the loss stack: a group trains on the data variant its
preprocessing asks for (`training.preprocess.for_config`), on the target transformed as its
`target_transform` says (metrics in original units, as `train`), with its label smoothing. Those
that change the model's structure stack where the group shares them (`STRUCTURE_FIELDS` and
`embedding_dim`): periodic numeric embeddings, learned categorical embeddings and TabM-mini
ensembles (see `training._stacked`).

Each member keeps its own curve, best epoch, early stopping, pruning callback and divergence;
a member that stops is dropped from its group at the end of the epoch, so it stops costing
compute. On CPU a member follows its solo `train(config, data, seed=seed)` run up to float
rounding (same initial weights, same shuffles, same dropout masks). A group of one has nothing
to share and runs `train` itself, so `train_many([config])` is exactly that run. One known
exception to "up to rounding": with batch norm, the bias of the linear layer before it gets a
gradient that is 0 but for rounding noise, which adam, adamw, rmsprop and adagrad scale up to
full steps; the running mean follows that bias, so validation values of such runs agree only to
about 1e-3 (training itself is unaffected: batch norm cancels the bias).

Example:
    >>> configs = [TrainConfig(learning_rate=lr) for lr in (1e-3, 3e-3, 1e-2)]
    >>> results = train_many(configs, data, seed=0)  # doctest: +SKIP
    >>> [r.status for r in results]  # doctest: +SKIP
    ['ok', 'ok', 'ok']
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from hpo_common.errors import ConfigError, HPORecommendError
from training._evaluation import RunTracker, loss_divergence, stacked_output_metrics
from training._stacked import LAYOUT_WARNING, Columns, DropoutMasks, StackedMLP
from training._stacked_optim import StackedOptimizer
from training._tensors import (
    DeviceData,
    autocast_for,
    check_data,
    epoch_batches,
    make_generator,
    member_losses,
    n_batches,
    step_flops,
    to_device,
)
from training.config import TrainConfig
from training.data import PreparedData
from training.device import cpu_threads_for, resolve_device
from training.metrics import resolve_metric
from training.preprocess import for_config
from training.results import EpochStats, TrainResult
from training.schedules import lr_at
from training.train import train

Callback = Callable[[int, float], bool | str] | None
# The hyperparameters that fix a member's shapes and step sequence (width last: it may be padded).
GROUP_FIELDS = ("optimizer", "batch_size", "n_layers", "batch_norm", "activation", "width")
# Recipe elements that change only the data or the loss: members sharing their values stack, so
# they are part of the group key (`target_transform` for regression, `label_smoothing` for
# classification: each is ignored by the other task).
RECIPE_FIELDS = ("numeric_preprocessing", "categorical", "target_transform", "label_smoothing")
# Recipe elements that change the model's structure: members sharing their values stack (the
# ensemble's k and the embeddings' shapes are the group's); `embedding_dim` counts only where
# there is an embedding, see `group_key`.
STRUCTURE_FIELDS = ("num_embedding", "ensemble_size")
# What the members of a batch must share to train as one stacked model (widths are padded where
# that pays): `tune`'s batches keep the lead's values of these (`recommender.search.ask_batch`).
# In `group_key`'s order: its entries name these fields.
BATCH_FIELDS = (*GROUP_FIELDS, *RECIPE_FIELDS, *STRUCTURE_FIELDS, "embedding_dim")
# Activations of one layer of one group (members x batch rows x units), at most: larger groups
# are split. On CPU a group's activations should stay in the caches: once they spill, stacking
# makes compute-bound members slower (128 members of 2 x 483 units on 400-row batches ran at
# 0.7x their sequential speed with all 128 in one group; `tune`'s K = 32 batch of 3 x 195 at
# batch 1024 ran at 0.84x as 10 + 10 + 10 + 2 under 2**21 elements, 0.97x as pairs under
# 2**19, on 5,000 rows); a GPU wants large groups.
MAX_GROUP_ELEMENTS = {"cpu": 2**19}
MAX_GROUP_ELEMENTS_ELSEWHERE = 2**26
# Fixed cost of one stacked training step (Python, kernel launches, the optimizer update) in
# FLOP-equivalents: a narrower member is zero-padded into a wider member's group while the FLOPs
# padding adds cost less than a step of a group of its own. On CPU about 1 ms of small GEMMs on
# one core (measured: 8 members of widths 26-66 trained 1.2x faster as 3 groups than as 4); on a
# GPU nearly all of a small step is fixed cost.
STEP_OVERHEAD_FLOPS = {"cpu": 3e7}
STEP_OVERHEAD_FLOPS_ELSEWHERE = 1e10
# Output elements (members x rows x units) per forward pass at evaluation.
EVAL_ELEMENTS = 2**24


def group_key(
    config: TrainConfig, *, task: str | None = None, pad_widths: bool = True
) -> tuple[Any, ...]:
    """What members must share to be trained as one stacked model: the `GROUP_FIELDS` (the
    width only when `pad_widths=False`, else widths are padded, see `plan_groups`), the
    `RECIPE_FIELDS`, less the one `task` ignores (None: both count), and the
    `STRUCTURE_FIELDS` with the embedding's size where there is one."""
    width = None if pad_widths else (0 if config.n_layers == 0 else config.width)
    ignored = {None: None, "regression": "label_smoothing"}.get(task, "target_transform")
    recipe = (None if name == ignored else getattr(config, name) for name in RECIPE_FIELDS)
    structure = (getattr(config, name) for name in STRUCTURE_FIELDS)
    embeds = config.num_embedding == "periodic" or config.categorical == "embedding"
    embedding = config.embedding_dim if embeds else None
    return (
        *(getattr(config, name) for name in GROUP_FIELDS[:-1]),
        width,
        *recipe,
        *structure,
        embedding,
    )


def plan_groups(
    configs: Sequence[TrainConfig],
    data: PreparedData,
    *,
    device: str = "cpu",
    pad_widths: bool = True,
) -> list[list[int]]:
    """The indices of `configs` that `train_many` trains as each stacked model.

    Configurations with one `group_key` are taken by width; a member joins the group of the
    narrower ones (all padded to its width) when the FLOPs padding adds cost less than a step of
    a group of its own (`STEP_OVERHEAD_FLOPS`). Groups are then split where one layer's
    activations would not stay cache-sized on CPU (`MAX_GROUP_ELEMENTS`). A recipe other than
    the default is fitted here (`training.preprocess.for_config`, once per recipe).
    """
    dev = resolve_device(device)
    overhead = _step_overhead_flops(dev)
    limit = MAX_GROUP_ELEMENTS.get(dev.type, MAX_GROUP_ELEMENTS_ELSEWHERE)
    by_key: dict[tuple[Any, ...], list[int]] = {}
    for index, config in enumerate(configs):
        by_key.setdefault(group_key(config, task=data.task, pad_widths=pad_widths), []).append(
            index
        )
    out = []
    for members in by_key.values():
        variant = for_config(data, configs[members[0]])
        for group in _padded_groups(
            configs, sorted(members, key=lambda i: configs[i].width), variant, overhead
        ):
            config = configs[group[-1]]  # the widest
            units = Columns.of(variant).row_units(config, max(variant.n_classes, 1))
            size = max(1, limit // (min(config.batch_size, len(variant.x_train)) * units))
            out += [group[i : i + size] for i in range(0, len(group), size)]
    return out


def _padded_groups(
    configs: Sequence[TrainConfig], members: list[int], data: PreparedData, overhead: float
) -> list[list[int]]:
    """`members` (sorted by width) cut into the groups that `plan_groups` describes."""

    groups: list[list[int]] = []
    for i in members:
        if groups:
            group, own = groups[-1], member_step_flops(configs[i], data)
            apart = len(group) * member_step_flops(configs[group[-1]], data) + own + overhead
            if (len(group) + 1) * own <= apart:
                group.append(i)
                continue
        groups.append([i])
    return groups


def member_flops(config: TrainConfig, data: PreparedData) -> float:
    """`step_flops` of a stacked member: an ensemble's k copies of each row each cost a model."""
    return step_flops(config, data) * config.ensemble_size


def member_step_flops(config: TrainConfig, data: PreparedData) -> float:
    """`member_flops` of one step as it runs on `data`: a batch is at most the training split."""
    return member_flops(config, data) * min(1.0, len(data.x_train) / config.batch_size)


def overhead_bound(config: TrainConfig, data: PreparedData, device: str = "cpu") -> bool:
    """Whether a step of `config` costs less than a stacked step's fixed cost on `device`
    (`STEP_OVERHEAD_FLOPS`, what `plan_groups` weighs padding against): stacking can make such a
    member's time nearly free, while a compute-bound member does the same FLOPs stacked or not."""
    return member_step_flops(config, for_config(data, config)) < _step_overhead_flops(
        resolve_device(device)
    )


def _step_overhead_flops(device: torch.device) -> float:
    return STEP_OVERHEAD_FLOPS.get(device.type, STEP_OVERHEAD_FLOPS_ELSEWHERE)


def train_many(
    configs: Sequence[TrainConfig],
    data: PreparedData,
    *,
    device: str = "auto",
    seed: int = 0,
    metric: str | None = None,
    callbacks: Sequence[Callback] | None = None,
    keep_model: bool = False,
    pad_widths: bool = True,
) -> list[TrainResult]:
    """Train every configuration of `configs` on `data`; results in the same order.

    Args:
        configs: the configurations (any mix; those sharing a `group_key` train together).
        data, device, seed, metric, keep_model: as `train`, for every member.
        callbacks: one epoch callback (or None) per configuration, as `train`'s `callback`;
            returning True prunes that member only.
        pad_widths: zero-pad narrower members into a wider one's group where that is cheaper
            than a group of their own (exact, see `training._stacked` and `plan_groups`);
            False groups equal widths only.

    Returns:
        One `TrainResult` per configuration. `wall_seconds` is the member's share of its group's
        time (each epoch's time split among the members still training), so the shares add up
        to the wall time of the call. An error inside a group fails the members still training
        in it; the other groups go on.
    """
    configs = list(configs)
    for index, config in enumerate(configs):
        if not isinstance(config, TrainConfig):
            raise ConfigError(
                f"configs[{index}] must be a TrainConfig, but got {type(config).__name__}"
            )
    calls = list(callbacks) if callbacks is not None else [None] * len(configs)
    if len(calls) != len(configs):
        raise ConfigError(
            f"callbacks must hold one entry per configuration ({len(configs)}), "
            f"but got {len(calls)}"
        )
    dev = resolve_device(device)
    objective = resolve_metric(data.task, metric)
    check_data(data)
    # each data variant (preprocessing, regression target transform) on the device once
    placed: dict[tuple[Any, ...], tuple[PreparedData, DeviceData]] = {}
    results: list[TrainResult | None] = [None] * len(configs)
    for members in plan_groups(configs, data, device=device, pad_widths=pad_widths):
        if len(members) == 1:  # nothing to share: the solo loop (fused optimizer) is faster
            (i,) = members
            results[i] = train(
                configs[i],
                data,
                device=device,
                seed=seed,
                metric=objective,
                callback=calls[i],
                keep_model=keep_model,
            )
            continue
        variant, tensors = place(data, configs[members[0]], dev, placed)
        group = _Group(
            [configs[i] for i in members],
            [calls[i] for i in members],
            variant,
            tensors,
            dev,
            seed,
            objective,
            keep_model,
        )
        with cpu_threads_for(dev, sum(member_flops(configs[i], variant) for i in members)):
            for i, result in zip(members, group.run(), strict=True):
                results[i] = result
    return [r for r in results if r is not None]


def place(
    data: PreparedData,
    config: TrainConfig,
    dev: torch.device,
    placed: dict[tuple[Any, ...], tuple[PreparedData, DeviceData]],
) -> tuple[PreparedData, DeviceData]:
    """The data variant `config`'s group trains on (its preprocessing and, for regression, its
    target transform) and its tensors on `dev`, put there once per variant (kept in `placed`)."""
    variant = for_config(data, config)
    target = config.target_transform if data.task == "regression" else "standard"
    if (variant.recipe, target) not in placed:
        placed[variant.recipe, target] = variant, to_device(variant, dev, target)
    return placed[variant.recipe, target]


class _Group:
    """One group's run: the stacked model, its optimizer and one `RunTracker` per member."""

    def __init__(
        self,
        configs: list[TrainConfig],
        callbacks: list[Callback],
        data: PreparedData,
        tensors: DeviceData,
        dev: torch.device,
        seed: int,
        objective: str,
        keep_model: bool,
    ) -> None:
        self.configs, self.callbacks, self.data, self.tensors = configs, callbacks, data, tensors
        self.dev, self.seed, self.objective, self.keep_model = dev, seed, objective, keep_model
        self.runs = [RunTracker(c, data.task, objective) for c in configs]
        self.states: list[dict[str, Any] | None] = [None] * len(configs)
        self.seconds = [0.0] * len(configs)
        self.active = list(range(len(configs)))  # members still training, in stacking order

    def run(self) -> list[TrainResult]:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=LAYOUT_WARNING)
                self._train()
        except HPORecommendError:
            raise
        except Exception as exc:  # out of memory or a config torch rejects: these members fail
            for i in self.active:
                self.runs[i].fail(exc)
        finally:
            if self.dev.type == "cuda":
                torch.cuda.empty_cache()
        return [
            run.result(
                wall_seconds=seconds, device=str(self.dev), seed=self.seed, model_state=state
            )
            for run, seconds, state in zip(self.runs, self.seconds, self.states, strict=True)
        ]

    def _train(self) -> None:
        first, x, y = self.configs[0], self.tensors.x_train, self.tensors.y_train
        model = StackedMLP(
            self.configs, Columns.of(self.data), self.tensors.n_outputs, self.seed, self.dev
        )
        optimizer = StackedOptimizer(self.configs, self.dev)
        dropout = DropoutMasks(
            [c.dropout for c in self.configs],
            model.rng_states,
            model.widths,
            self.dev,
            self.seed,
            exact=self.dev.type == "cpu",
        )
        shuffle = make_generator(self.dev, self.seed)  # one shuffle serves the whole group
        autocast, needs_scaler = autocast_for(self.dev)
        if needs_scaler:  # fp16 without a loss scaler is unsafe: stay in fp32 there
            autocast = torch.autocast(self.dev.type, enabled=False)
        per_epoch = n_batches(len(x), first.batch_size, drop_single=first.batch_norm)
        totals = [per_epoch * c.max_epochs for c in self.configs]
        step, reference = 0, [math.nan] * len(self.configs)
        for epoch in range(1, max(c.max_epochs for c in self.configs) + 1):
            started = time.perf_counter()
            loss_sum = torch.zeros(len(self.active), device=self.dev)
            # the epoch's learning rates, step x member, in one tensor: no Python per step
            lr_table = [
                [lr_at(self.configs[i], s, totals[i], per_epoch) for i in self.active]
                for s in range(step, step + per_epoch)
            ]
            lrs, schedule = lr_table[-1], torch.tensor(lr_table, device=self.dev)
            for xb, yb in epoch_batches(
                x, y, first.batch_size, shuffle, drop_single=first.batch_norm
            ):
                with autocast:
                    losses = member_losses(
                        self.data.task, model.forward(xb, dropout), yb, first.label_smoothing
                    )
                model.grad.zero_()
                losses.sum().backward()  # each member's gradient lands in its row of model.grad
                optimizer.clip(model.grad)
                row = step % per_epoch
                optimizer.step(model.flat, model.grad, schedule[row], lr_table[row])
                if step == 0:  # the untrained models' losses, for divergence
                    reference = losses.detach().float().cpu().tolist()
                loss_sum += losses.detach().float()
                step += 1
            train_losses = (loss_sum / per_epoch).tolist()
            keep = self._end_epoch(epoch, model, train_losses, reference, lrs, autocast)
            share = (time.perf_counter() - started) / len(self.active)
            for i in self.active:
                self.seconds[i] += share
            if not any(keep):
                return
            if not all(keep):
                kept = [j for j, k in enumerate(keep) if k]
                index = torch.tensor(kept, dtype=torch.long, device=self.dev)
                model.keep(index)
                optimizer.keep(index)
                dropout.keep(index.cpu())
                reference = [reference[j] for j in kept]
                self.active = [self.active[j] for j in kept]
            self._between_epochs(epoch, model, optimizer, dropout)

    def _between_epochs(
        self, epoch: int, model: StackedMLP, optimizer: StackedOptimizer, dropout: DropoutMasks
    ) -> None:
        """After an epoch, its stopped members dropped: a subclass may change the members
        still training (`training.population`); a plain group trains on."""

    def _end_epoch(
        self,
        epoch: int,
        model: StackedMLP,
        train_losses: list[float],
        reference: list[float],
        lrs: list[float],
        autocast: Any,
    ) -> list[bool]:
        """Evaluate every active member, record its epoch; which members go on training."""
        outputs = _evaluate(model, self.tensors.x_val, autocast)
        evaluated = stacked_output_metrics(outputs, self.tensors, self.data)
        finite = model.finite_members().tolist()
        keep = []
        for j, i in enumerate(self.active):
            run, config = self.runs[i], self.configs[i]
            val_loss, metrics = evaluated[j]
            divergence = loss_divergence(train_losses[j], val_loss, reference[j]) or (
                None if finite[j] else "non-finite weights"
            )
            stats = EpochStats(epoch, train_losses[j], val_loss, metrics[self.objective], lrs[j])
            stop = run.end_epoch(stats, metrics, divergence)
            if not stop and run.improved and self.keep_model:
                self.states[i] = model.member_state(j, config)
            if not stop:
                try:
                    stop = run.stopped_by(self.callbacks[i])
                except Exception as exc:  # a callback's bug fails its own member only
                    run.fail(exc)
                    stop = True
            keep.append(not stop and epoch < config.max_epochs)
        return keep


@torch.inference_mode()
def _evaluate(model: StackedMLP, x: torch.Tensor, autocast: Any) -> torch.Tensor:
    """Every member's output on the validation rows, `[K, rows, n_out]`, in bounded chunks."""
    rows = max(1, EVAL_ELEMENTS // (len(model.widths) * model.units))
    with autocast:
        return torch.cat([model.forward(x[i : i + rows]) for i in range(0, len(x), rows)], dim=1)
