"""Frozen records of what runs produce: epoch stats, a run's result, a CV summary, an LR test."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from training.config import TrainConfig


@dataclass(frozen=True)
class EpochStats:
    """One point of a learning curve.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: mean training loss over the epoch's mini-batches (with dropout active).
        val_loss: the training loss function on the validation split (cross-entropy, or MSE of
            the standardised target for regression).
        val_metric: the run's objective on the validation split.
        lr: learning rate of the epoch's last step.
    """

    epoch: int
    train_loss: float
    val_loss: float
    val_metric: float
    lr: float


# What an epoch callback returns to end a run as finished rather than pruned: its curve has
# flattened out, so its best epoch stands as its result (status "ok").
CONVERGED = "converged"


@dataclass(frozen=True)
class TrainResult:
    """Outcome of one `train` call; every status, even `failed`, is a result, not an exception.

    Attributes:
        status: "ok" (ran to max_epochs, early-stopped, or ended by its callback as
            `CONVERGED`), "pruned" (the callback stopped it),
            "diverged" (NaN/inf or exploding loss), "failed" (runtime error, e.g. out of memory).
        objective, direction: the metric the run optimised and whether lower or higher is better.
        value: the objective at the best epoch; NaN when no epoch finished cleanly.
        metrics: every standard metric of the task at the best epoch (NaN when none).
        best_epoch: 1-based epoch of `value`, 0 when none.
        epochs_run: epochs started and evaluated, including a diverged last one.
        curve: one `EpochStats` per evaluated epoch.
        wall_seconds, device, seed, config: how the run was made.
        error: the reason of a "failed" (or "diverged") run.
        stop_reason: why it stopped training: "max_epochs" (ran them all), "patience" (early
            stopping), `CONVERGED` or "pruned" (its callback), "diverged" or "failed"; None when
            not known. Learning from curves needs it: a curve ended as `CONVERGED` shows the
            pruner's judgement, not where the run would have stopped by itself.
        model_state: the best epoch's state_dict on CPU, only with `keep_model=True`.
        schedule: where the hyperparameters changed during the run (population-based training,
            `training.train_population`): one dict per change, from the start on; empty when
            the run kept `config` throughout.
    """

    status: str
    objective: str
    direction: str
    value: float
    metrics: dict[str, float]
    best_epoch: int
    epochs_run: int
    curve: tuple[EpochStats, ...]
    wall_seconds: float
    device: str
    seed: int
    config: TrainConfig
    error: str | None = None
    stop_reason: str | None = None
    model_state: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    schedule: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (config as a dict, curve as a list of dicts, no model state)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.pop("model_state")
        out["config"] = self.config.to_dict()
        out["curve"] = [dataclasses.asdict(point) for point in self.curve]
        return out


@dataclass(frozen=True)
class CVResult:
    """Summary of one config trained on k folds.

    Attributes:
        objective, direction: as in `TrainResult`.
        mean, std: of the objective over the folds that ended "ok" with a finite value
            (NaN when none did).
        folds: each fold's `TrainResult`, in fold order.
    """

    objective: str
    direction: str
    mean: float
    std: float
    folds: tuple[TrainResult, ...]

    @property
    def n_ok(self) -> int:
        """Folds that contributed to `mean`."""
        return sum(1 for r in self.folds if r.status == "ok" and math.isfinite(r.value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every fold's `TrainResult.to_dict()`."""
        return {
            "objective": self.objective,
            "direction": self.direction,
            "mean": self.mean,
            "std": self.std,
            "n_ok": self.n_ok,
            "folds": [r.to_dict() for r in self.folds],
        }


@dataclass(frozen=True)
class LRFindResult:
    """A learning-rate range test: smoothed training loss against learning rate.

    Attributes:
        learning_rates: increasing, one per mini-batch tried.
        losses: exponentially smoothed (bias-corrected) training loss at each learning rate.
        suggested_lr: the steepest-descent point of the curve (NaN when the first step diverged).
    """

    learning_rates: tuple[float, ...]
    losses: tuple[float, ...]
    suggested_lr: float
