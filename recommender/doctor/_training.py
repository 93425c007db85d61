"""Checks that train: overfit one batch, the learning-rate range test, and a short run whose loss
curve is read as "too low / about right / too high". All use `training.train` and
`training.lr_find` on the user's configuration, so they test the real engine."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from recommender.doctor._report import Check
from training import PreparedData, TrainConfig, lr_find, train

OVERFIT_ROWS = 32
OVERFIT_STEPS = 300
OVERFIT_PASS = 0.05  # loss on the batch (cross-entropy, or MSE of the standardised target)
LR_TOLERANCE = 10.0  # the configured rate within this factor of the range test's suggestion
CURVE_EPOCHS = 15
SLOW_DROP = 0.25  # a curve that loses less than this share of its first loss is slow...
STEADY_SHARE = 0.8  # ...and too low a rate when it falls at (almost) every epoch
ZIGZAG_SHARE = 0.4  # share of epochs whose loss rose: the rate is too high


def _one_batch(data: PreparedData, rows: int) -> PreparedData:
    """The first `rows` training rows as both the training and the validation split."""
    x, y = data.x_train[:rows], data.y_train[:rows]
    return dataclasses.replace(data, x_train=x, y_train=y, x_val=x, y_val=y)


def check_overfit_batch(config: TrainConfig, data: PreparedData, *, device: str = "cpu",
                        seed: int = 0) -> Check:
    """A network that cannot drive the loss on a few rows near zero has a bug (or the rows
    contradict each other): fit one batch with Adam and no regularisation."""
    batch = _one_batch(data, OVERFIT_ROWS)
    cfg = config.replace(optimizer="adam", learning_rate=3e-3, weight_decay=0.0, dropout=0.0,
                         batch_size=len(batch.y_train), max_epochs=OVERFIT_STEPS, patience=0,
                         lr_schedule="constant", warmup_epochs=0, grad_clip=0.0, nesterov=False)
    result = train(cfg, batch, device=device, seed=seed)
    losses = [p.val_loss for p in result.curve]
    first = losses[0] if losses else math.nan
    final = min((v for v in losses if math.isfinite(v)), default=math.nan)
    details = {"rows": len(batch.y_train), "steps": result.epochs_run, "first_loss": first,
               "final_loss": final, "status": result.status}
    reason = (f"loss on one batch of {len(batch.y_train)} rows went from {first:.3g} to "
              f"{final:.3g} in {result.epochs_run} Adam steps")
    if math.isfinite(final) and final < OVERFIT_PASS:
        return Check("overfit_batch", "pass", reason + ": the model can fit", "", details)
    advice = ("identical rows with different targets, or a broken pipeline (labels misaligned, "
              "features lost); look at the batch, then at the model")
    if math.isfinite(final) and final < 0.5 * first:
        return Check("overfit_batch", "warn", reason + ", not near zero", advice, details)
    return Check("overfit_batch", "fail", reason + ": the model cannot even memorise it",
                 advice, details)


def check_lr_range(config: TrainConfig, data: PreparedData, *, device: str = "cpu",
                   seed: int = 0) -> Check:
    """The range test's suggested rate against the configured one."""
    result = lr_find(data, config, device=device, seed=seed)
    suggested, lr = result.suggested_lr, config.learning_rate
    losses = np.asarray(result.losses)
    details = {"suggested_lr": suggested, "learning_rate": lr}
    if not math.isfinite(suggested) or len(losses) < 2 or losses.min() > 0.95 * losses[0]:
        return Check("lr_range", "warn",
                     "the loss barely fell at any rate of the sweep (1e-7 to 10)",
                     "check the overfit_batch result; the data may carry little signal", details)
    ratio = lr / suggested
    reason = (f"the range test suggests {suggested:.2g} for {config.optimizer}; the configured "
              f"rate is {lr:.2g}")
    if 1 / LR_TOLERANCE <= ratio <= LR_TOLERANCE:
        return Check("lr_range", "pass", reason + ", within 10x", "", details)
    side = "above" if ratio > 1 else "below"
    return Check("lr_range", "warn", reason + f", {max(ratio, 1 / ratio):.0f}x {side} it",
                 f"try learning_rate={suggested:.2g}", details)


def read_curve(losses: list[float]) -> tuple[str, str]:
    """("too low" | "about right" | "too high", why) for per-epoch training losses."""
    finite = [v for v in losses if math.isfinite(v)]
    if len(finite) < len(losses) or not finite:
        return "too high", "the loss became NaN or infinite"
    if len(finite) < 3:
        return "about right", "too few epochs to read a shape"
    steps = np.diff(finite)
    rose = float(np.mean(steps > 0))
    drop = (finite[0] - min(finite)) / abs(finite[0]) if finite[0] else 0.0
    if finite[-1] > finite[0] or rose >= ZIGZAG_SHARE:
        return "too high", (f"the loss rose in {rose:.0%} of the epochs "
                            f"({finite[0]:.3g} -> {finite[-1]:.3g}): zig-zag or explosion")
    if drop < SLOW_DROP and np.mean(steps < 0) >= STEADY_SHARE:
        return "too low", (f"the loss fell steadily but only {drop:.0%} "
                           f"({finite[0]:.3g} -> {finite[-1]:.3g}): slow, near-linear descent")
    return "about right", (f"the loss fell {drop:.0%} ({finite[0]:.3g} -> {finite[-1]:.3g}), "
                           "fast at first, then levelling off")


def check_loss_curve(config: TrainConfig, data: PreparedData, *, device: str = "cpu",
                     seed: int = 0) -> Check:
    """A short run of the configuration, its training-loss curve read as a rate diagnosis."""
    cfg = config.replace(max_epochs=min(config.max_epochs, CURVE_EPOCHS), patience=0)
    result = train(cfg, data, device=device, seed=seed)
    losses = [p.train_loss for p in result.curve]
    verdict, why = ("too high", "the run diverged") if result.status == "diverged" else (
        read_curve(losses))
    details = {"verdict": verdict, "train_loss": losses, "status": result.status}
    reason = f"learning rate {config.learning_rate:.2g} looks {verdict}: {why}"
    if verdict == "about right":
        return Check("loss_curve", "pass", reason, "", details)
    if verdict == "too low":
        return Check("loss_curve", "warn", reason,
                     "raise learning_rate (see lr_range) or train longer", details)
    status = "fail" if result.status == "diverged" or "NaN" in why else "warn"
    return Check("loss_curve", status, reason,
                 "lower learning_rate (see lr_range), add warm-up or gradient clipping", details)
