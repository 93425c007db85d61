"""Learning-rate schedules as one pure function of the step, applied per mini-batch.

A pure function is easy to test and to plot, and leaves no scheduler object to keep in step with
the optimizer. Every schedule starts after a linear warm-up of `warmup_epochs` epochs that rises
from `learning_rate / warmup_steps` to `learning_rate`. With `p` the fraction of the post-warm-up
steps done (0 at the first step after warm-up, 1 at the end of `max_epochs`) and `lr` the
configured learning rate, the schedules are:

- ``constant``: `lr` throughout.
- ``step``: halved at every quarter of the run: `lr`, `lr/2`, `lr/4`, `lr/8`.
- ``multistep``: divided by 10 at 50 % and again at 75 % of the run (the classic milestones).
- ``exponential``: `lr * 0.01**p`, a smooth decay to 1 % of `lr` at the end.
- ``cosine``: `lr * (1 + cos(pi p)) / 2`, from `lr` down to 0.
- ``one_cycle``: as PyTorch's OneCycleLR: cosine rise from `lr/25` to `lr` over the first 30 %,
  then cosine fall to `lr/25e4`.
- ``cyclic``: triangular cycles between `lr/10` and `lr`, rising for 2 epochs, falling for 2.
- ``linear``: `lr * (1 - p)`, straight down to 0.

Example:
    >>> cfg = TrainConfig(learning_rate=0.1, lr_schedule="cosine", max_epochs=10)
    >>> lr_at(cfg, step=0, total_steps=100, steps_per_epoch=10)
    0.1
"""

from __future__ import annotations

import math

from training.config import TrainConfig

_ONE_CYCLE_RISE = 0.3
_ONE_CYCLE_START_DIV = 25.0
_ONE_CYCLE_END_DIV = 25e4
_CYCLIC_HALF_EPOCHS = 2
_CYCLIC_LOW_DIV = 10.0


def lr_at(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Learning rate for 0-based optimizer step `step` of a run of `total_steps` steps."""
    base = config.learning_rate
    warmup = min(config.warmup_epochs * steps_per_epoch, total_steps)
    if step < warmup:
        return base * (step + 1) / warmup
    after = step - warmup
    p = min(after / max(total_steps - warmup, 1), 1.0)
    schedule = config.lr_schedule
    if schedule == "constant":
        return base
    if schedule == "step":
        return base * 0.5 ** min(math.floor(4 * p), 3)
    if schedule == "multistep":
        return base * 0.1 ** ((p >= 0.5) + (p >= 0.75))
    if schedule == "exponential":
        return base * 0.01**p
    if schedule == "cosine":
        return base * _cosine(1.0, 0.0, p)
    if schedule == "linear":
        return base * (1.0 - p)
    if schedule == "one_cycle":
        start, end = base / _ONE_CYCLE_START_DIV, base / _ONE_CYCLE_END_DIV
        if p < _ONE_CYCLE_RISE:
            return _cosine(start, base, p / _ONE_CYCLE_RISE)
        return _cosine(base, end, (p - _ONE_CYCLE_RISE) / (1.0 - _ONE_CYCLE_RISE))
    # cyclic: triangle wave, position in the current cycle in [0, 2).
    half = _CYCLIC_HALF_EPOCHS * steps_per_epoch
    phase = (after % (2 * half)) / half
    height = phase if phase < 1.0 else 2.0 - phase
    low = base / _CYCLIC_LOW_DIV
    return low + (base - low) * height


def peak_epoch(lr_schedule: str, warmup_epochs: float, max_epochs: float) -> float:
    """Epochs until the schedule's rise ends: the warm-up, then for ``one_cycle`` its own rise
    from `learning_rate / 25` and for ``cyclic`` its first rising half cycle. Before then a run
    has not trained at the learning rate the rest of its schedule starts from, so its curve says
    little about where it ends."""
    rest = max(max_epochs - warmup_epochs, 0.0)
    if lr_schedule == "one_cycle":
        return warmup_epochs + _ONE_CYCLE_RISE * rest
    if lr_schedule == "cyclic":
        return warmup_epochs + min(float(_CYCLIC_HALF_EPOCHS), rest)
    return warmup_epochs


def _cosine(start: float, end: float, fraction: float) -> float:
    """Cosine interpolation from `start` (fraction 0) to `end` (fraction 1)."""
    return end + (start - end) * (1.0 + math.cos(math.pi * fraction)) / 2.0
