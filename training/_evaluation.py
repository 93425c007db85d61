"""What `train` and `train_many` share after each epoch: metrics of a validation output, the
loss-based divergence test, and the per-run bookkeeping that turns epochs into a `TrainResult`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from training._tensors import DeviceData, member_losses
from training.config import TrainConfig
from training.data import PreparedData
from training.metrics import (
    METRIC_DIRECTIONS,
    is_better,
    metrics_for,
    stacked_classification_metrics,
    stacked_regression_metrics,
)
from training.results import CONVERGED, EpochStats, TrainResult

# A run has diverged when its epoch loss exceeds this multiple of the untrained model's loss.
EXPLODE_FACTOR = 1e3


def output_metrics(
    output: torch.Tensor, tensors: DeviceData, data: PreparedData
) -> tuple[float, dict[str, float]]:
    """Validation loss and every metric of the task from the model's validation output, in
    original target units."""
    return stacked_output_metrics(output.unsqueeze(0), tensors, data)[0]


def stacked_output_metrics(
    outputs: torch.Tensor, tensors: DeviceData, data: PreparedData
) -> list[tuple[float, dict[str, float]]]:
    """`output_metrics` of K models' validation outputs (`[K, rows, n_out]`) in one pass; a
    model whose output is not finite gets NaN everywhere."""
    outputs = outputs.float()
    val_losses = member_losses(data.task, outputs, tensors.y_val).tolist()
    finite = torch.isfinite(outputs).flatten(1).all(1).tolist()
    if data.task == "regression":
        scaled = outputs.double().cpu().numpy()  # a non-finite member is replaced below
        scaled = np.where(np.isfinite(scaled), scaled, 0.0)
        pred = np.stack([tensors.target.inverse_transform(member).ravel() for member in scaled])
        y = np.asarray(data.y_val, dtype=np.float64)
        with np.errstate(all="ignore"):  # non-finite members are replaced below
            metrics = stacked_regression_metrics(y, pred)
    else:
        proba = torch.softmax(outputs.double(), dim=2).cpu().numpy()
        y = np.asarray(data.y_val, dtype=np.int64)
        with np.errstate(all="ignore"):
            metrics = stacked_classification_metrics(y, proba, data.task)
    failed = {name: math.nan for name in metrics_for(data.task)}
    return [
        (loss, values) if ok else (math.nan, dict(failed))
        for loss, values, ok in zip(val_losses, metrics, finite, strict=True)
    ]


def loss_divergence(train_loss: float, val_loss: float, reference: float) -> str | None:
    """Why the losses say the run has diverged (non-finite or exploding), or None."""
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
        return f"non-finite loss (train {train_loss}, validation {val_loss})"
    if math.isfinite(reference) and train_loss > EXPLODE_FACTOR * max(reference, 1e-8):
        return (
            f"loss exploded: {train_loss:.4g} > {EXPLODE_FACTOR:g} x initial loss {reference:.4g}"
        )
    return None


class RunTracker:
    """One run's curve, best epoch, early stopping and status, epoch by epoch.

    `train` keeps one; `train_many` one per member, so each member stops on its own.
    """

    def __init__(self, config: TrainConfig, task: str, objective: str) -> None:
        self.config, self.objective = config, objective
        self.direction = METRIC_DIRECTIONS[objective]
        self.curve: list[EpochStats] = []
        self.best_value, self.best_epoch = math.nan, 0
        self.best_metrics = {name: math.nan for name in metrics_for(task)}
        self.status: str = "ok"
        self.error: str | None = None
        self.ended = "max_epochs"  # how an "ok" run ended; other statuses are their own reason
        self.improved = False

    def end_epoch(
        self, stats: EpochStats, metrics: dict[str, float], divergence: str | None
    ) -> bool:
        """Record an evaluated epoch; True when the run stops here (diverged or no progress
        for `patience` epochs). `improved` tells whether this epoch is the new best."""
        self.curve.append(stats)
        self.improved = False
        if divergence is not None:
            self.status, self.error = "diverged", divergence
            return True
        if is_better(stats.val_metric, self.best_value, self.direction):
            self.best_value, self.best_epoch, self.best_metrics = (
                stats.val_metric,
                stats.epoch,
                metrics,
            )
            self.improved = True
            return False
        patience = self.config.patience
        if patience and stats.epoch - self.best_epoch >= patience:
            self.ended = "patience"
            return True
        return False

    def stopped_by(self, callback: Callable[[int, float], bool | str] | None) -> bool:
        """Ask the epoch callback; True when it ends the run: as pruned when it answers True,
        as finished (status "ok", the best epoch so far its result) when it answers
        `CONVERGED`."""
        if callback is None:
            return False
        last = self.curve[-1]
        verdict = callback(last.epoch, last.val_metric)
        if verdict == CONVERGED:
            self.ended = CONVERGED
            return True
        if verdict:
            self.status = "pruned"
            return True
        return False

    def fail(self, exc: BaseException) -> None:
        """Any failure inside a run is its status, not a crash of the caller."""
        self.status, self.error = "failed", f"{type(exc).__name__}: {exc}".strip()

    def result(
        self,
        *,
        wall_seconds: float,
        device: str,
        seed: int,
        model_state: dict[str, Any] | None = None,
    ) -> TrainResult:
        return TrainResult(
            status=self.status,
            objective=self.objective,
            direction=self.direction,
            value=self.best_value,
            metrics=self.best_metrics,
            best_epoch=self.best_epoch,
            epochs_run=len(self.curve),
            curve=tuple(self.curve),
            wall_seconds=wall_seconds,
            device=device,
            seed=seed,
            config=self.config,
            error=self.error,
            stop_reason=self.ended if self.status == "ok" else self.status,
            model_state=model_state,
        )
