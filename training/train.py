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

import torch
from torch import nn

from hpo_common.errors import HPORecommendError
from training._evaluation import RunTracker, loss_divergence, output_metrics
from training._tensors import (
    DeviceData,
    autocast_for,
    epoch_batches,
    loss_fn,
    n_batches,
    set_lr,
    start_run,
    step_flops,
)
from training.config import TrainConfig
from training.data import PreparedData
from training.device import cpu_threads_for, resolve_device
from training.metrics import resolve_metric
from training.results import EpochStats, TrainResult
from training.schedules import lr_at

# Rows per forward pass at evaluation: large, since no activations are kept for backward.
EVAL_BATCH = 8192


def train(
    config: TrainConfig,
    data: PreparedData,
    *,
    device: str = "auto",
    seed: int = 0,
    metric: str | None = None,
    callback: Callable[[int, float], bool | str] | None = None,
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
            stops the run with status "pruned", returning `CONVERGED` ends it as finished
            (status "ok", its best epoch so far).
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
    with cpu_threads_for(dev, step_flops(config, data)):
        return _train(
            config, data, dev, seed, resolve_metric(data.task, metric), callback, keep_model
        )


def _train(
    config: TrainConfig,
    data: PreparedData,
    dev: torch.device,
    seed: int,
    objective: str,
    callback: Callable[[int, float], bool | str] | None,
    keep_model: bool,
) -> TrainResult:
    """The run itself, on a resolved device and objective (see `train`)."""
    started = time.perf_counter()
    run = RunTracker(config, data.task, objective)
    best_state: dict[str, Any] | None = None
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
                    loss = loss_fn(data.task, model(xb), yb, config.label_smoothing)
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
            divergence = loss_divergence(train_loss, val_loss, reference_loss) or (
                None if _finite_weights(model) else "non-finite weights"
            )
            stats = EpochStats(epoch, train_loss, val_loss, metrics[objective], lr)
            if run.end_epoch(stats, metrics, divergence):
                break  # diverged, or early stopping: `patience` epochs without improvement
            if run.improved and keep_model:
                best_state = {
                    k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                }
            if run.stopped_by(callback):
                break
    except HPORecommendError:
        raise
    except Exception as exc:  # any failure inside a run is its status, not a crash
        # Out of memory (torch.cuda.OutOfMemoryError), a config torch rejects at run time
        # (batch norm on a 1-row batch), a callback's bug: the run failed, the study goes on.
        run.fail(exc)
    finally:
        # Free device memory now, not at the next garbage collection: trials may share a GPU.
        del tensors, model, optimizer
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    return run.result(
        wall_seconds=time.perf_counter() - started,
        device=str(dev),
        seed=seed,
        model_state=best_state,
    )


def _evaluate(
    model: nn.Module, tensors: DeviceData, data: PreparedData, autocast: Any
) -> tuple[float, dict[str, float]]:
    """Validation loss and every metric of the task, in original target units."""
    model.eval()
    with torch.inference_mode(), autocast:
        x = tensors.x_val
        output = torch.cat([model(x[i : i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])
    return output_metrics(output, tensors, data)


def _finite_weights(model: nn.Module) -> bool:
    return bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all())
