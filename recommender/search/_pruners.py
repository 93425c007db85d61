"""Pruners: stop a trial early when its learning curve is clearly worse than earlier trials'.

A pruner only reads curves: the per-epoch objective values of this study's finished trials. A
`BasePruner` subclass writes one rule, `should_stop` (and may tell a trial that has flattened
out, `has_converged`); the base class hands `training.train` a per-epoch callback
(`PruningCallback(epoch, value) -> stop?`), a small picklable object that travels to worker
processes with the trial. Values are compared in the objective's direction.

- `LearnedPruner` (the default, in `_learned_pruner`): stop when even an optimistic
  extrapolation of the curve, learned from the knowledge base's curves, stays behind the best
  trial so far.
- `EnvelopePruner`: stop when even three times the largest improvement earlier trials of the
  study made after the same epoch would leave the trial behind the best; no model, so it judges any
  objective (the learned pruner's rule where its model cannot).
- `MedianPruner`: stop at epoch e when the trial's best value so far is worse than the median of
  earlier trials' best values up to epoch e (a stricter variant of Optuna's median rule, which
  compares against the others' value at epoch e).
- `SuccessiveHalvingPruner`: asynchronous successive halving (ASHA) over epochs: rungs at
  `min_epochs * reduction_factor**k`; at a rung a trial continues only if its best value so far is
  in the top `1 / reduction_factor` of the values earlier trials had at that rung.

Example:
    >>> pruner = MedianPruner(n_startup_trials=2, n_warmup_epochs=0)
    >>> stop = pruner.callback([[0.9, 0.5, 0.4], [0.8, 0.6, 0.5]], "minimize")
    >>> stop(1, 0.95)  # log loss 0.95 after one epoch; earlier trials had 0.9 and 0.8
    True
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_common.errors import InputError
from training.results import CONVERGED

Curves = Sequence[Sequence[float]]


def _best_so_far(curve: Sequence[float], epoch: int, sign: float) -> float:
    """Best higher-is-better value (sign * value) over the first `epoch` epochs; NaN if none."""
    values = np.asarray(curve[:epoch], dtype=float) * sign
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else math.nan


def _others_at(history: Curves, epoch: int, sign: float) -> list[float]:
    """Earlier trials' finite best-so-far values at `epoch` (those that reached it)."""
    values = [_best_so_far(c, epoch, sign) for c in history if len(c) >= epoch]
    return [v for v in values if math.isfinite(v)]


class BasePruner(abc.ABC):
    """A rule that stops a trial from its curve so far and the study's earlier curves."""

    @abc.abstractmethod
    def should_stop(self, epoch: int, curve: Sequence[float], history: Curves, sign: float) -> bool:
        """Whether a trial whose values so far are `curve` stops at `epoch` (1-based).

        `history` holds the earlier trials' curves; `sign` is +1 to maximise, -1 to minimise.
        """

    def callback(
        self, history: Curves, direction: str, config: Mapping[str, Any] | None = None
    ) -> PruningCallback:
        """A `training.train` callback judging a new trial (its configuration `config`) against
        `history`."""
        return PruningCallback(self.for_trial(config), _frozen(history), _sign(direction))

    def for_trial(self, config: Mapping[str, Any] | None) -> BasePruner:
        """This pruner for one trial; a rule that reads the trial's configuration binds it here."""
        return self

    def has_converged(self, epoch: int, curve: Sequence[float]) -> bool:
        """Whether a trial whose values so far are `curve` has flattened out at `epoch`, so it
        ends as finished, its best value so far its result (not pruned); rules that cannot
        tell never end a trial this way."""
        return False

    def censored_value(self, curve: Sequence[float], history: Curves, sign: float) -> float | None:
        """What a trial this pruner stopped after `curve` (the study's earlier curves `history`,
        `sign` 1 when higher is better) is told to the searcher as (a value of the objective);
        None: the value it reached, nothing more is known.

        A stopped trial's value is only a bound on what it would have reached; a rule that can
        say more (a model of how far the curve goes) overrides this.
        """
        return None


@dataclass(frozen=True)
class MedianPruner(BasePruner):
    """The median rule.

    Args:
        n_startup_trials: earlier trials needed (reaching the epoch) before pruning starts.
        n_warmup_epochs: epochs every trial runs before it may be pruned.
    """

    n_startup_trials: int = 3
    n_warmup_epochs: int = 2

    def __post_init__(self) -> None:
        if self.n_startup_trials < 0 or self.n_warmup_epochs < 0:
            raise InputError(
                "the median rule needs n_startup_trials >= 0 and n_warmup_epochs >= 0, but got "
                f"(n_startup_trials={self.n_startup_trials}, "
                f"n_warmup_epochs={self.n_warmup_epochs})"
            )

    def should_stop(self, epoch: int, curve: Sequence[float], history: Curves, sign: float) -> bool:
        if epoch <= self.n_warmup_epochs:
            return False
        others = _others_at(history, epoch, sign)
        if len(others) < self.n_startup_trials:
            return False
        mine = _best_so_far(curve, epoch, sign)
        return not math.isfinite(mine) or mine < float(np.median(others))


@dataclass(frozen=True)
class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving over epochs.

    Args:
        min_epochs: the first rung.
        reduction_factor: keep the top 1/reduction_factor at each rung.
        n_startup_trials: earlier trials needed at a rung before it prunes.
    """

    min_epochs: int = 2
    reduction_factor: int = 3
    n_startup_trials: int = 3

    def __post_init__(self) -> None:
        if self.min_epochs < 1 or self.reduction_factor < 2:
            raise InputError(
                "successive halving needs min_epochs >= 1 and reduction_factor >= 2, but got "
                f"(min_epochs={self.min_epochs}, reduction_factor={self.reduction_factor})"
            )

    def is_rung(self, epoch: int) -> bool:
        ratio = epoch / self.min_epochs
        if ratio < 1 or ratio != int(ratio):
            return False
        k = round(math.log(ratio, self.reduction_factor))
        return self.reduction_factor**k == ratio

    def should_stop(self, epoch: int, curve: Sequence[float], history: Curves, sign: float) -> bool:
        if not self.is_rung(epoch):
            return False
        others = _others_at(history, epoch, sign)
        if len(others) < self.n_startup_trials:
            return False
        mine = _best_so_far(curve, epoch, sign)
        keep = max(1, len(others) // self.reduction_factor)
        cutoff = sorted(others, reverse=True)[keep - 1]
        return not math.isfinite(mine) or mine < cutoff


@dataclass(frozen=True)
class EnvelopePruner(BasePruner):
    """Stop a trial when even the largest improvement an earlier trial of this study made after
    the same epoch would leave it behind the study's best trial.

    A rule that needs nothing but this study's own curves, for what the knowledge base's curve
    model cannot judge (an objective of the user's own, a knowledge base without curves). Like the
    median rule it compares at equal progress, but it stops only a trial that cannot catch up on
    the evidence of the study's own curves, not one that is merely below the middle: a slow
    starter survives as long as some earlier trial improved that much after that epoch.

    The largest of a few earlier improvements underestimates the largest possible one, hence
    the defaults: five earlier trials past the epoch and three times their largest improvement.
    Chosen on half of a learning-curve benchmark replayed from the seed KB's curves
    (`benchmarks/blackbox_pruning.py --half dev`, 128 datasets, 40 random trials): from three
    trials and without slack the rule lost 241 would-be best trials in 256 searches (the median
    rule: 234); with these defaults 27, at 31% fewer epochs.

    Args:
        n_startup_trials: earlier trials that ran past the epoch needed before it may stop one.
        min_epochs: epochs every trial runs before it may be stopped.
        slack: the largest later improvement is multiplied by this before the comparison.
    """

    n_startup_trials: int = 5
    min_epochs: int = 2
    slack: float = 3.0

    def __post_init__(self) -> None:
        if self.n_startup_trials < 1 or self.min_epochs < 1 or not self.slack >= 1.0:
            raise InputError(
                "the envelope rule needs n_startup_trials >= 1, min_epochs >= 1 and slack >= 1, "
                f"but got (n_startup_trials={self.n_startup_trials}, "
                f"min_epochs={self.min_epochs}, slack={self.slack})"
            )

    def should_stop(self, epoch: int, curve: Sequence[float], history: Curves, sign: float) -> bool:
        bounds = self._bounds(epoch, curve, history, sign)
        return bounds is not None and bounds[0] < bounds[1]

    def censored_value(self, curve: Sequence[float], history: Curves, sign: float) -> float | None:
        """The trial's optimistic bound (its best plus the slack times the largest later
        improvement), behind the study's best trial when this rule stopped it."""
        bounds = self._bounds(len(curve), curve, history, sign)
        return None if bounds is None else sign * bounds[0]

    def _bounds(
        self, epoch: int, curve: Sequence[float], history: Curves, sign: float
    ) -> tuple[float, float] | None:
        """(the trial's optimistic bound, the study's best), both higher-is-better; None when
        the rule cannot judge yet (too early, too few earlier trials past `epoch`)."""
        if epoch < self.min_epochs:
            return None
        finals = [_best_so_far(c, len(c), sign) for c in history]
        later_gains = [
            final - _best_so_far(c, epoch, sign)
            for c, final in zip(history, finals, strict=True)
            if len(c) > epoch
        ]
        later_gains = [g for g in later_gains if math.isfinite(g)]
        mine = _best_so_far(curve, epoch, sign)
        if len(later_gains) < self.n_startup_trials or not math.isfinite(mine):
            return None
        best = max(f for f in finals if math.isfinite(f))
        return mine + self.slack * max(later_gains), best


@dataclass
class PruningCallback:
    """`callback(epoch, value)` for `training.train`: True to prune, `CONVERGED` to end the trial
    as finished, False to go on; remembers the trial's curve."""

    pruner: BasePruner
    history: tuple[tuple[float, ...], ...]
    sign: float

    def __post_init__(self) -> None:
        self.curve: list[float] = []

    def __call__(self, epoch: int, value: float) -> bool | str:
        self.curve.append(value)
        if self.pruner.should_stop(epoch, self.curve, self.history, self.sign):
            return True
        return CONVERGED if self.pruner.has_converged(epoch, self.curve) else False


def _frozen(history: Curves) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in curve) for curve in history)


def _sign(direction: str) -> float:
    if direction not in ("minimize", "maximize"):
        raise InputError(f"direction must be minimize or maximize, but got {direction!r}")
    return 1.0 if direction == "maximize" else -1.0
