"""The learning-rate range test (Smith 2017): sweep the learning rate up, watch the loss.

Trains a fresh model of `config` for at most `steps` mini-batches while the learning rate grows
exponentially from `min_lr` to `max_lr`; the loss falls, flattens, then blows up. The suggested
learning rate is where the smoothed loss falls fastest (the steepest negative slope against
log lr, before the minimum), which is usually an order of magnitude below the minimum's.

Example:
    >>> result = lr_find(data, TrainConfig(optimizer="sgd"))  # doctest: +SKIP
    >>> result.suggested_lr                                   # doctest: +SKIP
    0.0316...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hpo_common.errors import ConfigError
from training._tensors import epoch_batches, loss_fn, set_lr, start_run
from training.config import TrainConfig
from training.data import PreparedData
from training.device import resolve_device
from training.results import LRFindResult

# Exponential smoothing of the per-batch loss, as in fastai's LRFinder.
SMOOTHING = 0.98
# Stop once the smoothed loss exceeds this multiple of the best seen.
STOP_FACTOR = 4.0
# With fewer points than this before the minimum, the slope is noise: use min-loss lr / 10.
MIN_POINTS_FOR_SLOPE = 3


def lr_find(
    data: PreparedData,
    config: TrainConfig | None = None,
    *,
    device: str = "auto",
    seed: int = 0,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 100,
    callback: Callable[[int, float, float], None] | None = None,
) -> LRFindResult:
    """Run the range test on the training split of `data` with the model and optimizer of `config`.

    The config's schedule and warm-up are ignored (the sweep is the schedule); its batch size,
    optimizer, architecture and gradient clipping are used. `callback(step, lr, smoothed_loss)`
    runs after each step (1-based), e.g. for a progress display.
    """
    if not (0 < min_lr < max_lr and math.isfinite(max_lr)):
        raise ConfigError(
            f"lr_find needs 0 < min_lr < max_lr, but got min_lr={min_lr}, max_lr={max_lr}"
        )
    if steps < 2:
        raise ConfigError(f"lr_find needs steps >= 2, but got {steps}")
    config = config or TrainConfig()
    dev = resolve_device(device)
    tensors, model, optimizer, shuffle = start_run(config, data, dev, seed)
    batches = _forever(tensors.x_train, tensors.y_train, config, shuffle)
    growth = (max_lr / min_lr) ** (1.0 / (steps - 1))

    model.train()
    learning_rates: list[float] = []
    losses: list[float] = []
    average, best = 0.0, math.inf
    for i in range(steps):
        lr = min_lr * growth**i
        set_lr(optimizer, lr)
        xb, yb = next(batches)
        loss = loss_fn(data.task, model(xb), yb, config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        value = loss.item()  # the sweep needs every loss at once: one sync per step is the point
        if not math.isfinite(value):
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING ** (i + 1))
        learning_rates.append(lr)
        losses.append(smoothed)
        best = min(best, smoothed)
        if callback is not None:
            callback(i + 1, lr, smoothed)
        if smoothed > STOP_FACTOR * best:
            break
    return LRFindResult(tuple(learning_rates), tuple(losses), _suggest(learning_rates, losses))


def _forever(
    x: torch.Tensor, y: torch.Tensor, config: TrainConfig, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled mini-batches over as many epochs as the sweep needs."""
    while True:
        yield from epoch_batches(x, y, config.batch_size, generator, drop_single=config.batch_norm)


def _suggest(learning_rates: list[float], losses: list[float]) -> float:
    """Steepest descent of the smoothed loss before its minimum; min-loss lr / 10 if too short."""
    if not losses:
        return math.nan
    lowest = int(np.argmin(losses))
    if lowest + 1 < MIN_POINTS_FOR_SLOPE:
        return learning_rates[lowest] / 10.0
    slopes = np.gradient(np.asarray(losses[: lowest + 1]), np.log(learning_rates[: lowest + 1]))
    return float(learning_rates[int(np.argmin(slopes))])


def plot_lr_find(result: LRFindResult, path: str | Path) -> Path:
    """Save loss against learning rate (log axis), the suggested point marked; returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.learning_rates, result.losses)
    if math.isfinite(result.suggested_lr):
        loss_at = np.interp(
            np.log(result.suggested_lr), np.log(result.learning_rates), result.losses
        )
        ax.plot([result.suggested_lr], [loss_at], "o", color="red")
        ax.annotate(f"suggested {result.suggested_lr:.2g}", (result.suggested_lr, loss_at))
    ax.set_xscale("log")
    finite = [loss for loss in result.losses if math.isfinite(loss)]
    if finite:  # the final blow-up would squash the informative part of the curve
        ax.set_ylim(min(finite) - 0.05 * abs(min(finite)), 1.5 * finite[0])
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed training loss")
    ax.set_title("Learning-rate range test")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
