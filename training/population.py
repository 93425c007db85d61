"""`train_population`: population-based training (Jaderberg et al. 2017) on one stacked model.

The members share one shape (every `GROUP_FIELDS` value, width included), so they train as one
`train_many` group and a member takes another's weights by copying a row of the stacked buffers.
Every `ready` epochs the caller's `exploit` policy (training knows nothing of search) sees each
training member's latest validation value and configuration, and names which member copies
which, under what configuration: the copy takes the source's parameters, batch-norm statistics
and optimizer state, then the new configuration's learning rate, weight decay, dropout and every
other per-member value. A member that stopped (diverged, early-stopped) is neither a source nor
a target: its weights are gone from the group.

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
from training._tensors import step_flops, to_device
from training.batched import RECIPE_DEFAULTS, _Group, group_key
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
        configs: the members; all share one shape (`group_key` with widths unpadded). Members
            that set a recipe element away from its default (`RECIPE_DEFAULTS`; a population
            trains on the data as given) train one by one under their first configuration:
            nothing is copied.
        ready: epochs between two calls of `exploit` (>= 1).
        exploit: the policy (see `Exploit`); a copy's configuration must keep the shape.
        data, device, seed, metric: as `train_many`.

    Returns:
        One `TrainResult` per member, in order, each with its `schedule`: dicts of `epoch` (the
        first epoch under these values), the `SCHEDULED` values and `copied_from` (the member
        whose weights it took then; None at the start).
    """
    configs = list(configs)
    if ready < 1:
        raise ConfigError(f"ready must be >= 1 epoch, but got {ready}")
    objective = resolve_metric(data.task, metric)
    if len(configs) == 1 or _uses_recipe(configs):
        # nothing to copy (one member), or a recipe element the stacked model lacks: each
        # member trains on its own, under the configuration it started with
        _check_types(configs)
        return [
            dataclasses.replace(
                train(c, data, device=device, seed=seed, metric=objective),
                schedule=(_step(1, c, None),),
            )
            for c in configs
        ]
    _check_shape(configs[0], configs)
    dev = resolve_device(device)
    group = _Population(
        configs, data, to_device(data, dev), dev, seed, objective, ready=ready, exploit=exploit
    )
    with cpu_threads_for(dev, sum(step_flops(c, data) for c in configs)):
        return group.run()


def _check_types(configs: Sequence[TrainConfig]) -> None:
    for index, config in enumerate(configs):
        if not isinstance(config, TrainConfig):
            raise ConfigError(
                f"configs[{index}] must be a TrainConfig, but got {type(config).__name__}"
            )


def _uses_recipe(configs: Sequence[TrainConfig]) -> bool:
    """Whether a member sets a recipe element away from its default (`RECIPE_DEFAULTS`)."""
    return any(getattr(c, k, v) != v for c in configs for k, v in RECIPE_DEFAULTS.items())


def _check_shape(first: TrainConfig, configs: Sequence[TrainConfig]) -> None:
    """Raise `ConfigError` unless every configuration can share `first`'s stacked model."""
    _check_types(configs)
    key = group_key(first, pad_widths=False)
    for index, config in enumerate(configs):
        odd = [k for k, v in RECIPE_DEFAULTS.items() if getattr(config, k) != v]
        if group_key(config, pad_widths=False) != key or odd:
            raise ConfigError(
                f"population member {index} cannot share member 0's stacked model: members "
                "must agree on optimizer, batch_size, n_layers, batch_norm, activation and "
                f"width, and keep the default {', '.join(RECIPE_DEFAULTS)}"
                + (f" (it sets {', '.join(odd)})" if odd else "")
            )


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
            _check_shape(self.configs[source], [config])
            model.copy_member(row[target], row[source])
            optimizer.copy_member(row[target], row[source], config)
            # a fresh dropout stream, different per (epoch, member), for a member that had none
            stream = (self.seed * 1_000_003 + epoch) * 1009 + target
            dropout.set_rate(row[target], config.dropout, stream)
            self.configs[target] = self.runs[target].config = config
            self.schedules[target].append(_step(epoch + 1, config, source))
