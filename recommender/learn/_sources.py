"""One cheap model per past dataset (or study) in the knowledge base: how *it* ranks configurations.

The meta-feature surrogate (`Surrogate`) pools every dataset and needs meta-features; transfer
that adapts to the dataset at hand (`recommender.search.TransferPrior`) needs one model per source
instead, so that sources can be weighted by how well each orders the new dataset's own trials, and
so that studies without meta-features can be transferred from at all.

Each source is a small LightGBM regressor over its finished runs (ok, diverged, failed;
failures take their dataset's worst score), predicting the per-dataset copula score
(`KBView.scores`) from the configuration encoded in the *target's* space and put on a
unit scale. Only the parameters the source varied are inputs: one it kept fixed (or never had)
says nothing about how it ranks. Why LightGBM (100 trees of 3 leaves): on the seed KB, fitted on
25 runs of a dataset and scored on its other 15, the mean Spearman correlation was 0.26 against
0.20-0.21 for a distance-weighted kNN (k 5 or 10, the searcher's distance), 0.24 for a ridge and
0.27-0.31 for random forests of 20-50 trees, which cost 3-8x LightGBM's fit time
(~10-50 ms a source on the 2-core machine); all sources are fitted once per KB state and cached.

A configuration a source actually ran is not guessed: its observed score replaces the model's
(the mean over repeats). Related studies often share configurations (a default, a portfolio,
a benchmark's fixed grid), and there a source's own runs rank the new study's trials exactly.
`performance` gives the same on the source's 0-1 scale (`KBView.scaled`), the unit a greedy
portfolio adds up; a model's prediction is carried there through the source's own quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import ndtr

from recommender.learn._fit import _cached, _fit_key
from recommender.learn._view import KBView, _config_of
from recommender.space import SearchSpace

if TYPE_CHECKING:
    import lightgbm as lgb

SOURCE_STATUSES = ("ok", "diverged", "failed")  # pruned runs' values are partial
MIN_SOURCE_RUNS = 5  # fewer runs rank nothing
TOP_CONFIGS = 20  # each source's best runs kept as candidates of the greedy portfolio
FORMAT = 2  # of a fitted `SourceModels` (2: observed runs kept); in the cache key, so an older
# cache file is refitted rather than loaded without them


@dataclass(frozen=True)
class UnitScale:
    """Encoded rows (`SearchSpace.encode`) to a unit scale: numeric columns over their range,
    categorical codes kept (a mismatch is >= 1 apart), inactive/missing as -1."""

    low: np.ndarray
    span: np.ndarray

    @classmethod
    def of(cls, space: SearchSpace, samples: int = 512) -> UnitScale:
        """The ranges of `space`'s encoding, read off a fixed sample of it."""
        X = space.encode(space.sample(samples, np.random.default_rng(0)))
        with np.errstate(all="ignore"):
            low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        low, high = np.nan_to_num(low), np.nan_to_num(high)
        span = np.where(high > low, high - low, 1.0)
        span[list(space.categorical_indices)] = 1.0
        return cls(low=low, span=span)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.nan_to_num((X - self.low) / self.span, nan=-1.0)


class SourceModels:
    """One small LightGBM regressor per source dataset of a KB snapshot (scikit-learn contract).

    Args:
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM settings for
            40-100 runs a source: stumps-to-small trees, slow learning, row and column subsampling.
        seed: makes the fits deterministic.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        learning_rate: float = 0.05,
        num_leaves: int = 3,
        min_child_samples: int = 4,
        seed: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed

    def _model(self) -> lgb.LGBMRegressor:
        import lightgbm as lgb  # with scikit-learn: only when a study fits its sources

        return lgb.LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            min_data_in_bin=1,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.7,
            random_state=self.seed,
            n_jobs=1,
            verbose=-1,
        )

    def fit(self, view: KBView, space: SearchSpace) -> SourceModels:
        """One model per dataset of `view` with at least `MIN_SOURCE_RUNS` finished runs that
        varied at least one of `space`'s parameters; returns self."""
        self.unit_ = UnitScale.of(space)
        self.dataset_ids_: list[str] = []
        self.models_: list[lgb.LGBMRegressor] = []
        self.columns_: list[np.ndarray] = []  # the parameters each source varied
        self.configs_: list[list[dict]] = []  # each source's TOP_CONFIGS best runs, best first
        self.observed_: list[dict[bytes, tuple[float, float]]] = []  # row -> (score, scaled)
        self.scaled_: list[np.ndarray] = []  # each source's scaled scores, sorted
        runs = view.runs
        if runs.empty:
            return self
        finished = runs["status"].isin(SOURCE_STATUSES).to_numpy()
        runs = runs[finished]
        U = self.unit_(space.encode(runs))
        scores = view.scores.to_numpy()[finished]
        scaled = view.scaled.to_numpy()[finished]
        codes = runs["dataset_id"].to_numpy()
        tops: list[np.ndarray] = []
        for dataset_id in np.unique(codes):
            rows = np.flatnonzero(codes == dataset_id)
            varied = np.flatnonzero(np.ptp(U[rows], axis=0) > 0)
            if len(rows) < MIN_SOURCE_RUNS or varied.size == 0:
                continue
            X = U[np.ix_(rows, varied)]
            self.dataset_ids_.append(str(dataset_id))
            self.models_.append(self._model().fit(X, scores[rows]))
            self.columns_.append(varied)
            self.observed_.append(_observed(X, scores[rows], scaled[rows]))
            self.scaled_.append(np.sort(scaled[rows]))
            tops.append(rows[np.argsort(-scores[rows], kind="stable")[:TOP_CONFIGS]])
        if tops:  # one conversion to records, not one per source
            records = iter(runs.iloc[np.concatenate(tops)].to_dict("records"))
            self.configs_ = [[_config_of(next(records)) for _ in top] for top in tops]
        return self

    @property
    def n_sources(self) -> int:
        return len(self.models_)

    def predict(self, X: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Each source's (or each of `which`'s) normalised score of encoded rows: observed
        where the source ran that configuration, else predicted. Shape (sources, rows)."""
        return self._scores(X, which, scaled=False)

    def performance(self, X: np.ndarray) -> np.ndarray:
        """Each source's score of encoded rows on its 0 (worst run) to 1 (best run) scale:
        observed where it ran them, else the model's prediction at the same quantile of its
        runs. Shape (sources, rows)."""
        return self._scores(X, None, scaled=True)

    def _scores(self, X: np.ndarray, which: np.ndarray | None, scaled: bool) -> np.ndarray:
        which = np.arange(self.n_sources) if which is None else np.asarray(which)
        U = self.unit_(np.asarray(X, dtype=float))
        out = np.zeros((len(which), len(U)))
        if not len(U):
            return out
        for row, s in enumerate(which):
            inputs = U[:, self.columns_[s]]
            # the booster itself: the scikit-learn wrapper's checks cost more than the trees
            # on one row, and a search asks every source for every trial and neighbour
            predicted = self.models_[s].booster_.predict(inputs, num_threads=1)
            if scaled:  # the prediction's quantile among the source's own runs
                predicted = np.quantile(self.scaled_[s], ndtr(predicted))
            known = self.observed_[s]
            for i, key in enumerate(_keys(inputs)):
                if key in known:
                    predicted[i] = known[key][1 if scaled else 0]
            out[row] = predicted
        return out

    def cv_predict(self, X: np.ndarray, y: np.ndarray, folds: int = 5) -> np.ndarray:
        """Out-of-fold predictions of the same kind of model fitted on (`X`, `y`): the new
        dataset's own model, a competitor of the sources (RGPE's leave-one-out model, with at
        most `folds` fits so that it stays cheap on every trial)."""
        y = np.asarray(y, dtype=float)
        if len(y) < 2:
            return np.zeros(len(y))
        from sklearn.model_selection import KFold

        U = self.unit_(np.asarray(X, dtype=float))
        out = np.empty(len(y))
        for train, test in KFold(min(folds, len(y))).split(U):
            if np.ptp(y[train]) == 0:
                out[test] = y[train].mean()
                continue
            out[test] = self._model().fit(U[train], y[train]).predict(U[test])
        return out


def _keys(U: np.ndarray) -> list[bytes]:
    """Hashable identities of unit-scaled rows (rounded, so that float noise still matches)."""
    return [row.tobytes() for row in np.ascontiguousarray(np.round(U, 9))]


def _observed(
    U: np.ndarray, scores: np.ndarray, scaled: np.ndarray
) -> dict[bytes, tuple[float, float]]:
    """Per configuration a source ran (unit-scaled row), its mean score and scaled score."""
    frame = pd.DataFrame({"key": _keys(U), "score": scores, "scaled": scaled})
    means = frame.groupby("key", sort=False)[["score", "scaled"]].mean()
    return {key: (float(a), float(b)) for key, a, b in means.itertuples()}


def fitted_sources(view: KBView, space: SearchSpace, cache_dir: Path | None = None) -> SourceModels:
    """The source models of `view` in `space`'s encoding: from memory, from `cache_dir`, or
    freshly fitted (cached per KB state, as the surrogate is)."""
    model = SourceModels()
    key = f"sources-{FORMAT}-{view.signature(space)}-{_fit_key(model)}"
    return _cached(key, cache_dir, lambda: model.fit(view, space), SourceModels)
