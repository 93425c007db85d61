"""The default pruner: stop a trial only when even an optimistic extrapolation of its learning
curve cannot reach the study's best trial.

The median rule compares a trial at epoch e with other trials at epoch e, which stops slow
starters (warm-up, one-cycle, a small learning rate) that would have finished first, and with a
handful of earlier trials the median is noise. This pruner asks the knowledge base's curve model
(`CurveModel`, fitted on every stored curve) how far a curve with this prefix and this schedule
can still go, and stops the trial when its best value so far plus that optimistic improvement is
still worse than the incumbent (the best value any earlier trial of this study reached).

A trial that has flattened out ends as finished, not pruned (its best value so far is its result):
when the model's quantile of the improvement still ahead is below `plateau` in log error (1 %
of the error, far below the spread between seeds of one configuration), whether or not it
leads. Early stopping waits `patience` epochs without improvement for that; in the knowledge
base's runs those waits are a quarter of all epochs trained.

Where the model cannot judge (an objective of the user's own, such as a black-box "value"; values
outside the objective's range, such as an accuracy in percent; a knowledge base with too few
curves), the trial is judged by `fallback`, by default the model-free `EnvelopePruner` on the
study's own curves.

No trial is stopped or ended before the rise of its learning rate ends (the warm-up, and the rise
of a one-cycle or cyclic schedule, `training.schedules.peak_epoch`): until then its curve shows a
run that has not yet trained at its learning rate. On the real-size benchmark a trial with 5 warm-up
epochs of 20 was at log loss 0.51 after 3 and at 0.0066 after 5 (the incumbent: 0.029).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.search._curve_model import (
    LOSSES,
    CurveModel,
    from_log_error,
    has_log_error,
    log_error,
)
from recommender.search._pruners import BasePruner, Curves, EnvelopePruner
from training.schedules import peak_epoch


@dataclass(frozen=True)
class LearnedPruner(BasePruner):
    """Stop when the curve model's optimistic bound stays behind the incumbent.

    Args:
        model: the KB's fitted curve model; None when the KB has too few curves.
        objective: the study's objective; one the model cannot judge (a black-box "value") is
            judged by `fallback`.
        min_epochs: epochs every trial runs before it may be stopped.
        n_startup_trials: earlier finished trials needed (an incumbent) before pruning starts.
        plateau: a trial whose likely improvement still ahead (log error) is below this ends
            as finished; 0 never ends one this way.
        config: the trial's configuration (its schedule, warm-up, epochs and patience), bound
            per trial by `for_trial`.
        fallback: the rule for trials the model cannot judge (None: never stop those).
    """

    model: CurveModel | None
    objective: str
    min_epochs: int = 2
    n_startup_trials: int = 1
    plateau: float = 0.01
    config: Mapping[str, Any] = field(default_factory=dict)
    fallback: BasePruner | None = EnvelopePruner()

    @property
    def active(self) -> bool:
        """Whether the curve model judges this study's trials (a model for this kind of
        objective); otherwise `fallback` does."""
        return self.model is not None and has_log_error(self.objective)

    def for_trial(self, config: Mapping[str, Any] | None) -> LearnedPruner:
        return dataclasses.replace(self, config=dict(config or {}))

    def should_stop(self, epoch: int, curve: Sequence[float], history: Curves, sign: float) -> bool:
        if not self._model_judges(curve, history):
            return (
                self.fallback is not None
                and epoch > self._peak_epoch()
                and self.fallback.should_stop(epoch, curve, history, sign)
            )
        model = self.model
        if model is None or not self._may_judge(epoch):
            return False
        finals = [np.nanmin(e) for e in map(self._errors, history) if np.isfinite(e).any()]
        if len(finals) < self.n_startup_trials:
            return False
        bound = model.optimistic_best(curve, self.objective, self.config)
        return math.isfinite(bound) and bound > min(finals)

    def has_converged(self, epoch: int, curve: Sequence[float]) -> bool:
        model = self.model
        if model is None or not self._may_judge(epoch) or not self._model_judges(curve, ()):
            return False
        gain = model.likely_gain(curve, self.objective, self.config)
        return math.isfinite(gain) and gain < self.plateau

    def censored_value(self, curve: Sequence[float], history: Curves, sign: float) -> float | None:
        """The curve model's optimistic bound: the pruner stopped the trial because even this
        stays behind the incumbent, so the searcher learns "worse than the best, by at most
        this", not the partial value of a curve cut short (which steers it away from slow
        starters). A trial the model cannot judge is told `fallback`'s bound."""
        model = self.model
        if model is None or not self._model_judges(curve, history):
            rule = self.fallback
            return None if rule is None else rule.censored_value(curve, history, sign)
        bound = model.optimistic_best(curve, self.objective, self.config)
        return from_log_error(bound, self.objective) if math.isfinite(bound) else None

    def _model_judges(self, curve: Sequence[float], history: Curves) -> bool:
        """Whether the curve model judges this trial: a model for the objective, and every value
        in the objective's range (a loss >= 0, a score <= 1; not an accuracy in percent)."""
        if not self.active:
            return False
        values = np.concatenate([np.asarray(c, dtype=float) for c in (curve, *history)])
        values = values[np.isfinite(values)]
        in_range = values >= 0 if self.objective in LOSSES else values <= 1
        return bool(in_range.all())

    def _may_judge(self, epoch: int) -> bool:
        """Whether a trial may be stopped or ended at `epoch`: a model for this objective, at
        least `min_epochs` run, and the rise of its learning rate over."""
        return self.active and epoch >= self.min_epochs and epoch > self._peak_epoch()

    def _peak_epoch(self) -> float:
        """Epochs until the rise of the trial's learning rate ends (no stop before)."""
        config = self.config
        return peak_epoch(
            str(config.get("lr_schedule") or "constant"),
            float(config.get("warmup_epochs") or 0),
            float(config.get("max_epochs") or 0),
        )

    def _errors(self, curve: Sequence[float]) -> np.ndarray:
        return log_error(curve, self.objective)
