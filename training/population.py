"""`train_population`: population-based training (Jaderberg et al. 2017) on one stacked model.

The members share one stacked model (one `group_key`, width included: the same architecture,
optimizer family and recipe, ensembles and embeddings too), so they train as one `train_many`
group on the data variant their recipe asks for, and a member takes another's weights by
copying its row of the stacked buffers, which holds every parameter tensor of the member (an
ensemble's scale and heads, periodic embeddings' frequencies, weights and biases, categorical
embedding tables). Every `ready` epochs the caller's `exploit` policy (training knows nothing
of search) sees each training member's latest validation value and configuration, and names
which member copies which, under what configuration: the copy takes the source's parameters,
batch-norm statistics and optimizer state (momentum, moments, step count), then the new
configuration's learning rate, weight decay, dropout and every other per-member value. A member
that stopped (diverged, early-stopped) is neither a source nor a target: its weights are gone
from the group.

Each member keeps its own curve (it jumps where the member copied another) and its own status;
its result's `config` is the configuration it ended with and `schedule` lists every change.

Example:
    >>> def exploit(epoch, values, configs):  # the worst copies the best, at a lower rate
    ...     worst, best = min(values, key=values.get), max(values, key=values.get)
    ...     return [(worst, best, configs[best].replace(learning_rate=1e-3))]
    >>> results = train_population(configs, data, ready=4, exploit=exploit)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hpo_common.errors import ConfigError
from training._stacked import DropoutMasks, StackedMLP
from training._stacked_optim import StackedOptimizer
from training.batched import BATCH_FIELDS, _Group, group_key, member_flops, place
from training.config import TrainConfig
from training.data import PreparedData
from training.device import cpu_threads_for, resolve_device
from training.metrics import resolve_metric
from training.results import TrainResult
from training.train import train

#: (target member, source member, the target's configuration from now on).
Copy = tuple[int, int, TrainConfig]
#: The policy: (epoch just ended, {member: its latest validation value}, every member's current
#: configuration) -> the copies to make now.
Exploit = Callable[[int, Mapping[int, float], Sequence[TrainConfig]], Sequence[Copy]]
#: What a schedule entry records of the configuration in force.
SCHEDULED = ("learning_rate", "weight_decay", "dropout")


def train_population(
    configs: Sequence[TrainConfig],
    data: PreparedData,
    *,
    ready: int,
    exploit: Exploit,
    device: str = "auto",
    seed: int = 0,
    metric: str | None = None,
) -> list[TrainResult]:
    """Train `configs` together, letting `exploit` copy members every `ready` epochs.

    Args:
        configs: the members; all share one stacked model (`group_key` for `data`'s task,
            widths unpadded: every `BATCH_FIELDS` value that counts). One member alone has
            nothing to copy and trains as `train` (its schedule has one entry).
        ready: epochs between two calls of `exploit` (>= 1).
        exploit: the policy (see `Exploit`); a copy's configuration must keep the stacked model
            (its `group_key`).
        data, device, seed, metric: as `train_many`.

    Returns:
        One `TrainResult` per member, in order, each with its `schedule`: dicts of `epoch` (the
        first epoch under these values), the `SCHEDULED` values and `copied_from` (the member
        whose weights it took then; None at the start).
    """
    configs = list(configs)
    if ready < 1:
        raise ConfigError(f"ready must be >= 1 epoch, but got {ready}")
    if not configs:
        raise ConfigError("a population needs at least one member, but got no configs")
    objective = resolve_metric(data.task, metric)
    _check_shape(configs[0], configs, data.task)
    if len(configs) == 1:  # nothing to copy: the solo loop (fused optimizer) is faster
        (config,) = configs
        result = train(config, data, device=device, seed=seed, metric=objective)
        return [dataclasses.replace(result, schedule=(_step(1, config, None),))]
    dev = resolve_device(device)
    variant, tensors = place(data, configs[0], dev, {})
    group = _Population(
        configs, variant, tensors, dev, seed, objective, ready=ready, exploit=exploit
    )
    with cpu_threads_for(dev, sum(member_flops(c, variant) for c in configs)):
        return group.run()


def _check_shape(first: TrainConfig, configs: Sequence[TrainConfig], task: str) -> None:
    """Raise `ConfigError` unless every configuration can share `first`'s stacked model."""
    for index, config in enumerate(configs):
        if not isinstance(config, TrainConfig):
            raise ConfigError(
                f"configs[{index}] must be a TrainConfig, but got {type(config).__name__}"
            )
    for index, config in enumerate(configs):
        if differ := _differences(first, config, task):
            raise ConfigError(
                f"population member {index} cannot share member 0's stacked model: members "
                f"must agree on {', '.join(BATCH_FIELDS)} (where the task and the structure "
                f"use them), but it sets another {', '.join(differ)}"
            )


def _differences(first: TrainConfig, config: TrainConfig, task: str) -> list[str]:
    """The `BATCH_FIELDS` whose values keep `config` out of `first`'s stacked model."""
    key, other = (group_key(c, task=task, pad_widths=False) for c in (first, config))
    return [name for name, a, b in zip(BATCH_FIELDS, key, other, strict=True) if a != b]


def _step(epoch: int, config: TrainConfig, source: int | None) -> dict[str, Any]:
    return {"epoch": epoch, **{k: getattr(config, k) for k in SCHEDULED}, "copied_from": source}


class _Population(_Group):
    """A `train_many` group whose members `exploit` may overwrite with copies of others."""

    def __init__(
        self,
        configs: list[TrainConfig],
        data: PreparedData,
        tensors: Any,
        dev: Any,
        seed: int,
        objective: str,
        *,
        ready: int,
        exploit: Exploit,
    ) -> None:
        super().__init__(
            configs, [None] * len(configs), data, tensors, dev, seed, objective, keep_model=False
        )
        self.ready, self.exploit = ready, exploit
        self.schedules = [[_step(1, c, None)] for c in configs]

    def run(self) -> list[TrainResult]:
        return [  # each run's `config` already is the one it ended with (`_between_epochs`)
            dataclasses.replace(result, schedule=tuple(schedule))
            for result, schedule in zip(super().run(), self.schedules, strict=True)
        ]

    def _between_epochs(
        self, epoch: int, model: StackedMLP, optimizer: StackedOptimizer, dropout: DropoutMasks
    ) -> None:
        if epoch % self.ready or len(self.active) < 2:
            return
        values = {i: self.runs[i].curve[-1].val_metric for i in self.active}
        row = {member: j for j, member in enumerate(self.active)}
        for target, source, config in self.exploit(epoch, values, list(self.configs)):
            if target not in row or source not in row or target == source:
                raise ConfigError(
                    f"exploit at epoch {epoch}: member {target} cannot copy member {source}; "
                    f"both must be distinct members still training ({sorted(row)})"
                )
            if not isinstance(config, TrainConfig):
                raise ConfigError(
                    f"exploit at epoch {epoch}: member {target}'s new configuration must be a "
                    f"TrainConfig, but got {type(config).__name__}"
                )
            if differ := _differences(self.configs[source], config, self.data.task):
                raise ConfigError(
                    f"exploit at epoch {epoch}: member {target}'s new configuration cannot "
                    f"share the population's stacked model: it sets another {', '.join(differ)}"
                )
            model.copy_member(row[target], row[source])
            optimizer.copy_member(row[target], row[source], config)
            # a fresh dropout stream, different per (epoch, member), for a member that had none
            stream = (self.seed * 1_000_003 + epoch) * 1009 + target
            dropout.set_rate(row[target], config.dropout, stream)
            self.configs[target] = self.runs[target].config = config
            self.schedules[target].append(_step(epoch + 1, config, source))
