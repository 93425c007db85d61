"""The LightGBM surrogate: predicts a configuration's normalised score on a dataset.

Inputs are a dataset's meta-features next to the encoded configuration; the target is the
per-dataset copula score (`recommender.learn.copula`). Uncertainty comes from an ensemble whose
members are fitted on bootstrap resamples of whole datasets, so a configuration that only looks good
because of one dataset gets a wide spread.

Example:
    >>> model = Surrogate(n_models=3).fit(X, y, groups=dataset_ids)  # doctest: +SKIP
    >>> mean, std = model.predict(X_new, return_std=True)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from recommender._cores import map_on_cores
from recommender.learn._boosters import Boosters


class NotFittedError(ValueError, AttributeError):
    """`predict` before `fit` (as scikit-learn's error of that name, which it mirrors)."""


class Surrogate:
    """Bootstrap ensemble of LightGBM regressors over datasets (scikit-learn estimator contract).

    Its inputs follow `recommender.learn.SurrogateFeatures` (meta-features, then the encoded
    configuration); `get_params` gives the settings (the cache key of a fitted surrogate). It
    follows scikit-learn's contract without deriving from `BaseEstimator`, and keeps its members
    as `Boosters` (model text, predicted through LightGBM's C API): a warm `suggest` unpickles it
    from the cache without importing scikit-learn or LightGBM's Python package (about 1.3 s).

    Args:
        n_models: ensemble members; their spread is the uncertainty. Twenty, because a zero-shot
            pick is the argmax of the members' mean minus their spread, and with five members
            that argmax moved with the seed: on the seed KB's leave-one-dataset-out, two seeds
            picked the same configuration for 60% of held-out datasets with 5 members and 73%
            with 20 (benchmarks/suggest_proxy.py prints this agreement).
        max_rows: each member fits on at most this many runs (a random subset), which bounds the
            fit time on a large KB (a cold `suggest` on 100k runs: about 7 s with 8k rows, 17 s
            with 30k); each member sees other rows, so the ensemble still learns from all.
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM settings; small,
            well-populated leaves because a KB holds few datasets (62 in the seed) and a
            surrogate that memorises them ranks worse on a new one.
        seed: makes the bootstrap and the boosting deterministic.
    """

    def __init__(
        self,
        n_models: int = 20,
        max_rows: int = 8_000,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        min_child_samples: int = 30,
        seed: int = 0,
    ) -> None:
        self.n_models = n_models
        self.max_rows = max_rows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's named arguments, as scikit-learn's `get_params` gives them."""
        parameters = inspect.signature(type(self)).parameters.values()
        return {p.name: getattr(self, p.name) for p in parameters if p.kind != p.VAR_KEYWORD}

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray,
        *,
        categorical: Sequence[int] = (),
        sample_weight: np.ndarray | None = None,
    ) -> Surrogate:
        """Fit each member on a bootstrap resample of the groups (datasets); returns self."""
        import lightgbm as lgb  # only to fit: predicting needs the boosters' text alone

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        groups = np.asarray(groups)
        if len(X) != len(y) or len(X) != len(groups):
            raise ValueError(
                f"X, y and groups need equal lengths, got {len(X)}, {len(y)}, {len(groups)}"
            )
        weight = (
            np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        )
        rng = np.random.default_rng(self.seed)
        unique = np.unique(groups)
        codes = np.searchsorted(unique, groups)
        samples = []  # each member's rows and weights, drawn in member order (deterministic)
        for member in range(self.n_models):
            # Member 0 sees every dataset once; the others a bootstrap resample of datasets.
            if member == 0 or len(unique) < 2:
                counts = np.ones(len(unique), dtype=np.int64)
            else:
                counts = np.bincount(
                    rng.integers(0, len(unique), len(unique)), minlength=len(unique)
                )
            row_weight = weight * counts[codes]
            keep = row_weight > 0
            if keep.sum() > self.max_rows:
                chosen = rng.choice(np.flatnonzero(keep), self.max_rows, replace=False)
                keep = np.zeros(len(keep), dtype=bool)
                keep[chosen] = True
            samples.append((member, keep, row_weight))

        def fit_member(sample: tuple[int, np.ndarray, np.ndarray]) -> str:
            member, keep, row_weight = sample
            model = lgb.LGBMRegressor(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                random_state=self.seed + member,
                max_bin=63,
                # Row-wise histograms: the same trees as LightGBM's automatic choice, which
                # times both layouts first; about 20% faster on the KB's few thousand rows.
                force_row_wise=True,
                n_jobs=1,
                verbose=-1,
            )
            model.fit(
                X[keep],
                y[keep],
                sample_weight=row_weight[keep],
                categorical_feature=list(categorical) or "auto",
            )
            return model.booster_.model_to_string()

        # Side by side (`map_on_cores`): the members are independent, and each is the same
        # whatever the number of threads, so a cached surrogate does not depend on the machine.
        models = map_on_cores(fit_member, samples)
        self.boosters_ = Boosters(models)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(
        self, X: np.ndarray, *, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The members' mean predicted normalised score (and their standard deviation, the
        uncertainty, with `return_std`), as `GaussianProcessRegressor.predict` does."""
        predictions = self.predict_members(X)
        mean = predictions.mean(axis=0)
        return (mean, predictions.std(axis=0)) if return_std else mean

    def predict_members(self, X: np.ndarray, members: int | None = None) -> np.ndarray:
        """Each member's predictions, shape (members, rows), of the first `members` (None: all).

        The first members are exactly the ensemble a smaller `n_models` with the same seed fits,
        so a search can take a few of a zero-shot surrogate's members.
        """
        if not hasattr(self, "boosters_"):
            raise NotFittedError("Surrogate is not fitted yet: call fit(X, y, groups) first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[-1]} features, but this Surrogate was fitted on "
                f"{self.n_features_in_} (a dataset's meta-features, then the encoded "
                "configuration: `SurrogateFeatures`); refit it for this space"
            )
        return self.boosters_.predict(X, members)
