"""Checks that train: overfit one batch, the learning-rate range test, and a short run whose loss
curve is read as "too low / about right / too high". The last two are `training.lr_find` and
`training.train` on the user's configuration, so they test the real engine."""

from __future__ import annotations

import math

import numpy as np
import torch

from recommender.doctor._model import task_loss
from recommender.doctor._report import Check
from training import PreparedData, TrainConfig, build_model, lr_find, resolve_device, train
from training.device import cpu_threads_for

OVERFIT_ROWS = 32
OVERFIT_STEPS = 200
OVERFIT_LR = 1e-2
OVERFIT_PASS = 0.05  # loss on the batch (cross-entropy, or MSE of the standardised target)
LR_TOLERANCE = 10.0  # the configured rate within this factor of the range test's suggestion
CURVE_EPOCHS = 15
SLOW_DROP = 0.25  # a curve that loses less than this share of its first loss: too low a rate
BIG_RISE = 0.05  # an epoch-to-epoch rise above this share of the first loss is a real jump...
ZIGZAG_SHARE = 0.25  # ...and jumps in this share of the epochs mean too high a rate


def check_overfit_batch(config: TrainConfig, data: PreparedData, *, device: str = "cpu",
                        seed: int = 0) -> Check:
    """A network that cannot drive the loss on a few rows near zero has a bug (or the rows
    contradict each other): fit one batch of the configuration's network with Adam and no
    regularisation. A bare loop, not `train`: its per-epoch evaluation would cost 50x the step."""
    dev = resolve_device(device)
    torch.manual_seed(seed)
    x = torch.from_numpy(data.x_train[:OVERFIT_ROWS]).to(dev)
    y = torch.from_numpy(data.y_train[:OVERFIT_ROWS]).to(dev)
    n_outputs = 1 if data.task == "regression" else data.n_classes
    model = build_model(config.replace(dropout=0.0), x.shape[1], n_outputs).to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=OVERFIT_LR)
    losses = []
    with cpu_threads_for(dev, step_flops=0.0):  # tiny steps: one thread
        for _ in range(OVERFIT_STEPS):
            loss = task_loss(data.task, model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    finite = [v for v in losses if math.isfinite(v)]
    first, final = losses[0], min(finite, default=math.nan)
    details = {"rows": len(y), "steps": OVERFIT_STEPS, "first_loss": first, "final_loss": final}
    reason = (f"loss on one batch of {len(y)} rows went from {first:.3g} to {final:.3g} in "
              f"{OVERFIT_STEPS} Adam steps")
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
    with cpu_threads_for(resolve_device(device), step_flops=0.0):  # lr_find does not limit them
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
    """("too low" | "about right" | "too high", why) for per-epoch training losses.

    An epoch's mean loss moves by a percent or two from batch composition alone, so only rises
    above `BIG_RISE` of the first loss count as zig-zag, and a slow descent is judged by the net
    drop over the last few epochs.
    """
    finite = [v for v in losses if math.isfinite(v)]
    if len(finite) < len(losses) or not finite:
        return "too high", "the loss became NaN or infinite"
    if len(finite) < 3 or finite[0] <= 0:
        return "about right", "too few epochs to read a shape"
    first, last = finite[0], float(np.mean(finite[-3:]))
    rises = float(np.mean(np.diff(finite) / first > BIG_RISE))
    shape = f"({first:.3g} -> {finite[-1]:.3g} in {len(finite)} epochs)"
    if last > (1 + BIG_RISE) * first or rises >= ZIGZAG_SHARE:
        return "too high", f"the loss jumped up in {rises:.0%} of the epochs {shape}: zig-zag"
    drop = (first - last) / first
    if drop < SLOW_DROP:
        return "too low", f"the loss fell only {drop:.0%} {shape}: slow, near-linear descent"
    return "about right", f"the loss fell {drop:.0%} {shape}, fast at first, then levelling off"


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
