"""`train`: one readable training run of a tabular MLP, from config and data to a `TrainResult`.

The loop reads top to bottom (nanoGPT style): resolve the objective and device, move the data to
the device once, build model and optimizer, then per epoch: shuffle, step through slices with the
scheduled learning rate, evaluate, check for divergence, track the best epoch, early-stop, ask
the callback. Speed comes from never leaving the device: no Dataset/DataLoader, no per-step
host sync, fused optimizer kernels, evaluation in large batches under inference mode.

Example:
    >>> result = train(TrainConfig(max_epochs=5), data)  # doctest: +SKIP
    >>> result.status, result.objective, result.value    # doctest: +SKIP
    ('ok', 'log_loss', 0.08...)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from hpo_common.errors import HPORecommendError
from training._tensors import (
    DeviceData,
    autocast_for,
    epoch_batches,
    loss_fn,
    n_batches,
    set_lr,
    start_run,
)
from training.config import TrainConfig
from training.data import PreparedData
from training.device import cpu_threads_for, resolve_device
from training.metrics import (
    METRIC_DIRECTIONS,
    classification_metrics,
    is_better,
    metrics_for,
    regression_metrics,
    resolve_metric,
)
from training.results import EpochStats, TrainResult
from training.schedules import lr_at

# A run has diverged when its epoch loss exceeds this multiple of the untrained model's loss.
EXPLODE_FACTOR = 1e3
# Rows per forward pass at evaluation: large, since no activations are kept for backward.
EVAL_BATCH = 8192


def train(
    config: TrainConfig,
    data: PreparedData,
    *,
    device: str = "auto",
    seed: int = 0,
    metric: str | None = None,
    callback: Callable[[int, float], bool] | None = None,
    keep_model: bool = False,
) -> TrainResult:
    """Train the MLP of `config` on `data` and evaluate it on the validation split every epoch.

    Args:
        config: the hyperparameters.
        data: a prepared train/validation split (see `training.prepare`).
        device: "auto" (cuda, then mps, then cpu), "cpu", "cuda[:N]" or "mps".
        seed: seeds initialisation, dropout and shuffling; same seed and data on CPU give the
            same result.
        metric: the objective (see `metrics_for(task)`); default `default_metric(task)`. Early
            stopping and the best epoch follow its direction.
        callback: called as `callback(epoch, objective_value)` after each epoch; returning True
            stops the run with status "pruned".
        keep_model: put the best epoch's state_dict (on CPU) in `model_state`.

    Returns:
        A `TrainResult`. Divergence and runtime failures (CUDA out of memory included) are
        statuses, not exceptions; only invalid arguments raise (`ConfigError`, `DataError`).
        Any other exception inside the run (out of memory included) gives status "failed".

    Example:
        >>> cfg = TrainConfig(max_epochs=20, patience=5)
        >>> r = train(cfg, data, metric="accuracy")  # doctest: +SKIP
    """
    dev = resolve_device(device)
    with cpu_threads_for(dev, _step_flops(config, data)):
        return _train(
            config, data, dev, seed, resolve_metric(data.task, metric), callback, keep_model
        )


def _train(
    config: TrainConfig,
    data: PreparedData,
    dev: torch.device,
    seed: int,
    objective: str,
    callback: Callable[[int, float], bool] | None,
    keep_model: bool,
) -> TrainResult:
    """The run itself, on a resolved device and objective (see `train`)."""
    started = time.perf_counter()
    direction = METRIC_DIRECTIONS[objective]
    curve: list[EpochStats] = []
    best_value, best_epoch = math.nan, 0
    best_metrics = {name: math.nan for name in metrics_for(data.task)}
    best_state: dict[str, Any] | None = None
    status, error = "ok", None
    tensors = model = optimizer = None
    try:
        tensors, model, optimizer, shuffle = start_run(config, data, dev, seed)
        autocast, needs_scaler = autocast_for(dev)
        scaler = torch.amp.GradScaler(dev.type, enabled=needs_scaler)

        n_train = tensors.x_train.shape[0]
        steps_per_epoch = n_batches(n_train, config.batch_size, drop_single=config.batch_norm)
        total_steps = steps_per_epoch * config.max_epochs
        step, reference_loss, lr = 0, math.nan, config.learning_rate

        for epoch in range(1, config.max_epochs + 1):
            # ---- one pass over the training split, all on the device ----
            model.train()
            loss_sum = torch.zeros((), device=dev)
            batches = 0
            for xb, yb in epoch_batches(
                tensors.x_train,
                tensors.y_train,
                config.batch_size,
                shuffle,
                drop_single=config.batch_norm,
            ):
                lr = lr_at(config, step, total_steps, steps_per_epoch)
                set_lr(optimizer, lr)
                with autocast:
                    loss = loss_fn(data.task, model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if config.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                if step == 0:
                    reference_loss = loss.item()  # the untrained model's loss, for divergence
                loss_sum += loss.detach()  # no .item() here: one host sync per epoch, not per step
                batches += 1
                step += 1
            train_loss = loss_sum.item() / max(batches, 1)

            # ---- evaluate, record, decide ----
            val_loss, metrics = _evaluate(model, tensors, data, autocast)
            value = metrics[objective]
            curve.append(EpochStats(epoch, train_loss, val_loss, value, lr))
            reason = _divergence(train_loss, val_loss, reference_loss, model)
            if reason is not None:
                status, error = "diverged", reason
                break
            if is_better(value, best_value, direction):
                best_value, best_epoch, best_metrics = value, epoch, metrics
                if keep_model:
                    best_state = {
                        k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                    }
            elif config.patience and epoch - best_epoch >= config.patience:
                break  # early stopping: `patience` epochs without improvement
            if callback is not None and callback(epoch, value):
                status = "pruned"
                break
    except HPORecommendError:
        raise
    except Exception as exc:  # any failure inside a run is its status, not a crash
        # Out of memory (torch.cuda.OutOfMemoryError), a config torch rejects at run time
        # (batch norm on a 1-row batch), a callback's bug: the run failed, the study goes on.
        status, error = "failed", f"{type(exc).__name__}: {exc}".strip()
    finally:
        # Free device memory now, not at the next garbage collection: trials may share a GPU.
        del tensors, model, optimizer
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    return TrainResult(
        status=status,
        objective=objective,
        direction=direction,
        value=best_value,
        metrics=best_metrics,
        best_epoch=best_epoch,
        epochs_run=len(curve),
        curve=tuple(curve),
        wall_seconds=time.perf_counter() - started,
        device=str(dev),
        seed=seed,
        config=config,
        error=error,
        model_state=best_state,
    )


def _step_flops(config: TrainConfig, data: PreparedData) -> float:
    """Rough forward+backward FLOPs of one optimisation step (6 per weight per sample)."""
    n_in, n_out = data.x_train.shape[1], max(data.n_classes, 1)
    hidden = (
        n_in * config.width + (config.n_layers - 1) * config.width**2 + config.width * n_out
        if config.n_layers
        else n_in * n_out
    )
    return 6.0 * config.batch_size * hidden


def _evaluate(
    model: nn.Module, tensors: DeviceData, data: PreparedData, autocast: Any
) -> tuple[float, dict[str, float]]:
    """Validation loss and every metric of the task, in original target units."""
    model.eval()
    with torch.inference_mode(), autocast:
        x = tensors.x_val
        output = torch.cat([model(x[i : i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])
        output = output.float()
        val_loss = loss_fn(data.task, output, tensors.y_val).item()
    if not torch.isfinite(output).all():
        return math.nan, {name: math.nan for name in metrics_for(data.task)}
    if data.task == "regression":
        pred = output.squeeze(1).double().cpu().numpy() * tensors.y_std + tensors.y_mean
        return val_loss, regression_metrics(np.asarray(data.y_val, dtype=np.float64), pred)
    proba = torch.softmax(output.double(), dim=1).cpu().numpy()
    return val_loss, classification_metrics(
        np.asarray(data.y_val, dtype=np.int64), proba, data.task
    )


def _divergence(
    train_loss: float, val_loss: float, reference: float, model: nn.Module
) -> str | None:
    """Why the run has diverged, or None: non-finite losses or weights, or an exploding loss."""
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
        return f"non-finite loss (train {train_loss}, validation {val_loss})"
    if math.isfinite(reference) and train_loss > EXPLODE_FACTOR * max(reference, 1e-8):
        return (
            f"loss exploded: {train_loss:.4g} > {EXPLODE_FACTOR:g} x initial loss {reference:.4g}"
        )
    finite = torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all()
    if not bool(finite):
        return "non-finite weights"
    return None
