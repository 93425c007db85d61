"""How much a trial can still improve: a model of learning curves learned from the knowledge base.

A pruner that compares a trial at epoch 3 with other trials at epoch 3 punishes schedules that
start slowly by design (warm-up, one-cycle, a small learning rate that is still descending). This
model instead learns, from every stored curve, how far a curve with a given prefix still goes:
the target is the improvement from the best value so far to the run's final best value, and the
features describe the prefix (recent improvements, distance from its best, epochs since it last
improved) and where the trial stands in its schedule (epochs left, warm-up left, schedule kind,
patience). It is a LightGBM quantile regressor, so its prediction is an *optimistic* bound (the
`alpha` quantile): a trial is stopped only when even that bound stays behind the incumbent.

Values are compared as a log error, which makes improvements comparable across datasets and
metrics: log(loss) for losses (log loss, RMSE, MAE), log(1 - score) for scores bounded by 1
(R², accuracy, balanced accuracy, ROC AUC). An objective outside these (a black-box "value") has
no model and is never pruned by it.

A schedule longer than any the model learned from (the shipped seed's curves are 20 epochs; `tune`
trains up to 50 and more) is judged on the learned scale as well (see `CurveModel._gain`).

The quantile alone is not enough: it is fitted on the very datasets it then sees, and early in a
schedule a new dataset's curve can fall much further than the pooled curves say (a log loss that
goes from 0.51 at epoch 3 of 20 to 0.0065). So the bound is calibrated by progress, as in
conformalised quantile regression (Romano et al. 2019): the model is refitted with whole datasets
held out (`folds`), and in each tenth of the schedule the held-out excess of the true improvement
over the predicted one, relative to the prediction (plus a small slack), gives an inflation
factor at the `coverage` quantile. On the shipped seed (as `tune` fits it, 4,000 curves) the
factors at the default coverage of 0.985 are 0.14 to 0.22 in the first half of the schedule and
fall to 0 in the last tenth (0.34 to 0.46 at 0.99, 0.63 to 0.97 at 0.995); since they multiply
the predicted improvement, the room they add is widest early, where a stop needs a hopeless
prefix. Each step down from 0.995 saved epochs at about the same regret, in searches replayed on
the shipped seed (`pruner_long_curves.py --searches`: 26, 32 and 35 % at 0.995, 0.99 and 0.985)
and on the real-size benchmark (0.985: 32 % over four splits; README, "Over several splits").

Offline replays (`benchmarks/pruner_long_curves.py`, runs of each dataset in a fixed order, the
incumbent the best run before, `--coverage 0` for the quantile alone): the shipped seed's model
on the wide build's long curves (`--max-epochs 50 --shipped-only`) stopped 27 of the 256 runs
that would have become the incumbent and saved 47% of epochs with the quantile alone; calibrated
at coverage 0.995, 8 of 256 and 35%. The seed's own curves with a fifth of its datasets held out
in turn (`--held-out-seed`): 19 of 218 and 45% with the quantile alone, 10 of 218 and 32%
calibrated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recommender._cores import map_on_cores
from training.config import LR_SCHEDULES
from training.metrics import METRIC_DIRECTIONS
from training.results import CONVERGED

# Every standard metric either is a loss (minimised, >= 0) or a score bounded above by 1.
LOSSES = frozenset(m for m, d in METRIC_DIRECTIONS.items() if d == "minimize")
BOUNDED_SCORES = frozenset(m for m, d in METRIC_DIRECTIONS.items() if d == "maximize")
FEATURES = (
    "epoch", "fraction", "epochs_left", "patience", "since_best", "lr_schedule", "warmup_left",
    "gain_1", "gain_2", "gain_4", "gain_half", "gap",
)  # fmt: skip
MIN_CURVES = 200  # fewer completed curves than this: too little to learn from, no model
_FLOOR = 1e-12
_PROGRESS_BINS = 10  # the calibration's shares of the schedule (tenths)
# Added to a predicted improvement before it is inflated, so a curve predicted flat still gets
# room in proportion to how wrong flat predictions were at its progress.
_SLACK = 0.05


def has_log_error(objective: str) -> bool:
    """Whether the model can judge curves of `objective`."""
    return objective in LOSSES or objective in BOUNDED_SCORES


def log_error(values: Sequence[float] | np.ndarray, objective: str) -> np.ndarray:
    """The curve as a log error (lower is better); NaN where a value is missing or not finite."""
    v = np.asarray(values, dtype=float)
    error = v if objective in LOSSES else 1.0 - v
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(np.maximum(error, _FLOOR))
    return np.where(np.isfinite(v), out, np.nan)


def from_log_error(error: float, objective: str) -> float:
    """The objective's value of a log error (the inverse of `log_error`)."""
    return math.exp(error) if objective in LOSSES else 1.0 - math.exp(error)


def prefix_features(errors: np.ndarray, config: Mapping[str, Any]) -> np.ndarray:
    """One feature row per prefix length 1..len(errors) of a log-error curve (see FEATURES)."""
    n = len(errors)
    best = np.fmin.accumulate(np.where(np.isnan(errors), np.inf, errors))
    best = np.where(np.isfinite(best), best, np.nan)
    epoch = np.arange(1, n + 1, dtype=float)
    index = np.arange(n)

    def gain(lag: np.ndarray) -> np.ndarray:
        return best[np.maximum(index - lag, 0)] - best

    improved = np.r_[True, best[1:] < best[:-1]]
    last_improvement = np.maximum.accumulate(np.where(improved, index, 0))
    max_epochs = float(config.get("max_epochs") or n)
    schedule = config.get("lr_schedule", "constant")
    code = LR_SCHEDULES.index(schedule) if schedule in LR_SCHEDULES else -1
    return np.column_stack([
        epoch,
        epoch / max_epochs,
        max_epochs - epoch,
        np.full(n, float(config.get("patience") or 0)),
        index - last_improvement,
        np.full(n, float(code)),
        float(config.get("warmup_epochs") or 0) - epoch,
        gain(np.ones(n, dtype=int)),
        gain(np.full(n, 2)),
        gain(np.full(n, 4)),
        gain(index - index // 2),
        errors - best,
    ])  # fmt: skip


def stopped_by_pruner(runs: pd.DataFrame) -> pd.Series:
    """Which KB runs a pruner stopped: pruned, or ended as converged (`stop_reason`). Where such
    a curve would have gone is the pruner's guess, not evidence, so what learns from curves
    takes it only up to the epoch it reached."""
    stopped = runs["status"] == "pruned"
    if "stop_reason" in runs:
        stopped |= runs["stop_reason"] == CONVERGED
    return stopped


def completed(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs whose curves the model learns from: finished (status "ok") on an objective with a
    log error, and not stopped by a pruner (a curve ended as converged stops where the model
    itself judged it flat: learning from it would teach the model its own guess)."""
    done = (runs["status"] == "ok") & runs["objective"].map(has_log_error)
    return runs[done & ~stopped_by_pruner(runs)]


def training_rows(
    runs: pd.DataFrame, curves: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, remaining improvement and dataset ids of every proper prefix of every completed
    curve (`runs`: KB run rows; `curves`: run_id, epoch, val_metric)."""
    by_id = completed(runs).set_index("id")
    features, targets, groups = [], [], []
    ordered = curves[curves["run_id"].isin(by_id.index)].sort_values(["run_id", "epoch"])
    for run_id, curve in ordered.groupby("run_id", sort=False):
        run = by_id.loc[run_id]
        errors = log_error(curve["val_metric"].to_numpy(), run["objective"])
        if len(errors) < 2 or np.isnan(errors).all():
            continue
        rows = prefix_features(errors, run)[:-1]
        best = np.fmin.accumulate(np.where(np.isnan(errors), np.inf, errors))
        remaining = best[:-1] - best[-1]
        keep = np.isfinite(remaining)
        features.append(rows[keep])
        targets.append(remaining[keep])
        groups.append(np.full(int(keep.sum()), run["dataset_id"], dtype=object))
    if not features:
        return np.empty((0, len(FEATURES))), np.empty(0), np.empty(0, dtype=object)
    return np.vstack(features), np.concatenate(targets), np.concatenate(groups)


@dataclass
class CurveModel:
    """An optimistic (upper-quantile) bound on how much a curve can still improve, calibrated by
    how far into its schedule the curve is.

    Args:
        alpha: the quantile predicted; higher stops fewer trials (see the module docstring).
        coverage: the held-out quantile of the improvement the calibrated bound covers, per
            tenth of the schedule; higher stops fewer trials.
        folds: groups of datasets held out in turn to calibrate; fewer datasets than this, or
            no dataset ids given to `fit`: the bound is not calibrated.
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM settings; small
            trees with many samples per leaf, because prefixes of one curve are correlated.
        seed: LightGBM's seed.
    """

    alpha: float = 0.98
    coverage: float = 0.985
    folds: int = 5
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 50
    seed: int = 0
    _last_gain: tuple[tuple[bytes, float, str], float] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def fit(
        self, features: np.ndarray, remaining: np.ndarray, groups: np.ndarray | None = None
    ) -> CurveModel:
        """Fit on `training_rows` output (`groups`: the rows' dataset ids, for the calibration);
        returns self."""
        frame = pd.DataFrame(features, columns=FEATURES)
        folds = self._calibration_folds(remaining, groups)

        def fit_rows(rows: np.ndarray) -> Any:
            return self._regressor().fit(frame.iloc[rows], remaining[rows])

        # The model and its calibration folds are independent fits: side by side (`map_on_cores`).
        every_row = np.arange(len(remaining))
        self.model_, *fold_models = map_on_cores(fit_rows, [every_row, *(f for f, _ in folds)])
        # The longest schedule learned: beyond it the trees would extrapolate (see `_gain`).
        span = features[:, FEATURES.index("epoch")] + features[:, FEATURES.index("epochs_left")]
        self.max_epochs_ = max(2.0, float(np.max(span, initial=2.0)))
        self.inflation_ = self._calibrate(frame, remaining, folds, fold_models)
        return self

    def _regressor(self) -> Any:
        import lightgbm as lgb

        return lgb.LGBMRegressor(
            objective="quantile", alpha=self.alpha, n_estimators=self.n_estimators,
            learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples, random_state=self.seed, n_jobs=1,
            verbose=-1,
        )  # fmt: skip

    def _calibration_folds(
        self, remaining: np.ndarray, groups: np.ndarray | None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds by dataset (`groups`) for `_calibrate`; none where too few datasets."""
        if groups is None or len(np.unique(groups)) < max(2, self.folds):
            return []
        from sklearn.model_selection import GroupKFold

        return list(GroupKFold(self.folds).split(remaining, remaining, groups))

    def _calibrate(
        self,
        frame: pd.DataFrame,
        remaining: np.ndarray,
        folds: list[tuple[np.ndarray, np.ndarray]],
        fold_models: list[Any],
    ) -> np.ndarray:
        """Per tenth of the schedule, the factor by which the predicted improvement (plus
        `_SLACK`) must grow to cover the held-out improvement at `coverage` (zeros: no
        calibration possible, i.e. no `folds`)."""
        inflation = np.zeros(_PROGRESS_BINS)
        if not folds:
            return inflation
        held_out = np.zeros(len(remaining))
        for (_, test_rows), model in zip(folds, fold_models, strict=True):
            held_out[test_rows] = np.maximum(0.0, model.predict(frame.iloc[test_rows]))
        excess = (remaining - held_out) / (held_out + _SLACK)
        progress = _progress_bin(frame["fraction"].to_numpy())
        for b in np.unique(progress):
            inflation[b] = max(0.0, float(np.quantile(excess[progress == b], self.coverage)))
        # A bin no training curve reached (a later share of the schedule) takes the last one seen.
        seen = np.isin(np.arange(_PROGRESS_BINS), progress)
        return np.where(seen, inflation, inflation[np.flatnonzero(seen)[-1]] if seen.any() else 0)

    def optimistic_best(
        self, values: Sequence[float], objective: str, config: Mapping[str, Any]
    ) -> float:
        """The best log error this curve can still plausibly reach (NaN if nothing is known)."""
        errors = log_error(values, objective)
        if np.isnan(errors).all():
            return math.nan
        return float(np.nanmin(errors)) - self._gain(errors, config)

    def likely_gain(
        self, values: Sequence[float], objective: str, config: Mapping[str, Any]
    ) -> float:
        """The model's `alpha` quantile of the improvement (in log error) still ahead of this
        curve, before the calibration: what `LearnedPruner` ends a flattened trial on, where
        the calibrated bound's slack would never let a trial end (NaN if nothing is known)."""
        errors = log_error(values, objective)
        if np.isnan(errors).all():
            return math.nan
        return self._raw_gain(errors, config, float(config.get("max_epochs") or len(errors)))

    def _gain(self, errors: np.ndarray, config: Mapping[str, Any]) -> float:
        """The optimistic improvement still ahead of a log-error prefix: the model's quantile
        inflated by the calibration factor of the share of the schedule run so far."""
        length = float(config.get("max_epochs") or len(errors))
        raw = self._raw_gain(errors, config, length)
        inflation = self.inflation_[_progress_bin(np.array([len(errors) / length]))[0]]
        return raw + inflation * (raw + _SLACK)

    def _raw_gain(self, errors: np.ndarray, config: Mapping[str, Any], length: float) -> float:
        """`_quantile_gain`, kept for the last prefix asked about: the learned pruner asks for
        the same epoch's gain twice (to stop, then to end a flattened trial)."""
        key = (errors.tobytes(), length, json.dumps(config, sort_keys=True, default=str))
        if self._last_gain is None or self._last_gain[0] != key:
            self._last_gain = key, self._quantile_gain(errors, config, length)
        return self._last_gain[1]

    def _quantile_gain(self, errors: np.ndarray, config: Mapping[str, Any], length: float) -> float:
        """The model's quantile of the improvement ahead of a prefix, before calibration.

        A schedule longer than any the model learned from is outside its range: trees predict
        there as at the edge, the gain of a short run's last epochs, and stop slow schedules
        (a step, linear or one-cycle decay stretched over 50 epochs improves late) that would
        have won. Such a trial is judged twice, and the larger gain counts: (a) on the learned
        scale, its prefix resampled as if its schedule were `max_epochs_` long (epochs, warm-up
        and patience as fractions of the schedule, so every feature is in range); (b) the edge
        prediction times the ratio of epochs left to the most epochs left learned, which bounds
        a longer rest from above while improvements diminish.
        """
        edge = self._predict(errors, config)
        if length <= self.max_epochs_:
            return edge
        scale = self.max_epochs_ / length
        n = int(len(errors) * scale)
        if n < 1:
            return math.inf  # not one learned epoch's worth of the schedule yet: never stop
        best = np.fmin.accumulate(np.where(np.isnan(errors), np.inf, errors))
        at = np.minimum(np.ceil(np.arange(1, n + 1) / scale).astype(int), len(errors)) - 1
        resampled = np.where(np.isfinite(best[at]), best[at], np.nan)
        shrunk = {
            **config,
            "max_epochs": self.max_epochs_,
            "patience": float(config.get("patience") or 0) * scale,
            "warmup_epochs": float(config.get("warmup_epochs") or 0) * scale,
        }
        left = length - len(errors)
        stretched = edge * max(1.0, left / (self.max_epochs_ - 1))
        return max(self._predict(resampled, shrunk), stretched)

    def _predict(self, errors: np.ndarray, config: Mapping[str, Any]) -> float:
        row = prefix_features(errors, config)[-1:]
        return max(0.0, float(self.model_.predict(pd.DataFrame(row, columns=FEATURES))[0]))


def _progress_bin(fraction: np.ndarray) -> np.ndarray:
    """The tenth of the schedule each fraction (epochs run / schedule length) falls in."""
    return np.clip((fraction * _PROGRESS_BINS).astype(int), 0, _PROGRESS_BINS - 1)
