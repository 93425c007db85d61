"""Dataset meta-features: the numbers that tell the surrogate what kind of dataset it is looking at.

The groups follow auto-sklearn and PyMFE, chosen to be cheap: simple counts and ratios, statistics
of the numeric columns, information-theoretic measures, landmarkers (cross-validated scores of tiny
models) and PCA. Everything but the row count and the class counts is computed on a seeded row
subsample of at most `max_rows` rows (landmarkers and mutual information on `landmark_rows` of
those), so the cost is bounded however large the table, and the result is deterministic.

Every task returns the same keys, `META_FEATURE_NAMES`, all finite: a feature that is undefined for
a dataset (class entropy of a regression target, correlations with fewer than two numeric columns,
landmarkers with too few rows) is 0.

Example:
    >>> import pandas as pd
    >>> from training import Table
    >>> frame = pd.DataFrame({"x": range(100), "c": ["a", "b"] * 50})
    >>> table = Table(frame, pd.Series([0, 1] * 50, name="y"), "y", "binary", "fp", "demo")
    >>> features = compute_meta_features(table)
    >>> features["n_rows"], features["n_classes"], features["n_categorical"]
    (100.0, 2.0, 1.0)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from hpo_common.errors import DataError, InputError
from training.data import TASKS, Table

GROUPS: dict[str, tuple[str, ...]] = {
    "simple": (
        "n_rows",
        "n_features",
        "log_rows",  # log10
        "log_features",
        "log_rows_per_feature",
        "n_numeric",
        "n_categorical",
        "pct_missing_cells",  # percent, 0-100
        "pct_rows_with_missing",
        "cat_cardinality_mean",  # distinct values per categorical column
        "n_classes",  # 0 for regression
        "class_imbalance",  # rarest / most frequent class count; 1 = balanced
        "majority_class_fraction",
        "class_entropy",  # bits
        "target_skew",  # regression only
        "target_kurtosis",  # excess kurtosis
        "target_cv",  # std / |mean|, capped at 1000
    ),
    "statistical": (
        "skew_abs_mean",
        "skew_abs_median",
        "kurtosis_mean",
        "kurtosis_median",
        "corr_abs_mean",  # between numeric columns
        "corr_abs_max",
        "outlier_rate",  # fraction of numeric cells with |z| > 3
    ),
    "info_theory": (
        "target_entropy_norm",  # class entropy / log2(classes); 1 = uniform
        "mi_mean",  # mutual information (nats) of each feature with the target
        "mi_max",
    ),
    "landmarkers": (
        # 3-fold CV accuracy (classification) or R² clipped at -1 (regression)
        "landmark_1nn",
        "landmark_stump",
        "landmark_naive_bayes",  # classification only
        "landmark_linear",  # logistic regression / ridge
    ),
    "pca": (
        "pca_95_components",  # components for 95% of the variance of standardised features
        "pca_95_fraction",  # ... as a fraction of the encoded columns
        "pca_first_component_var",  # explained-variance ratio of the first component
    ),
}
META_FEATURE_NAMES: tuple[str, ...] = tuple(n for names in GROUPS.values() for n in names)

_TOP_CATEGORIES = 10  # one-hot columns per categorical feature; the rest share an all-zero row
_CV_FOLDS = 3
_TARGET_CV_CAP = 1000.0


class MetaFeatureExtractor:
    """Computes `META_FEATURE_NAMES` for a `training.Table`.

    Args:
        max_rows: rows sampled (seeded, without replacement) for every statistic but the row and
            class counts; bounds the cost on large tables.
        landmark_rows: rows of that sample used for landmarkers and mutual information.
        seed: seed of the subsamples, CV folds and estimators.

    After `compute`: `rows_used_` and `landmark_rows_used_` hold the sample sizes used.
    """

    def __init__(self, max_rows: int = 20_000, landmark_rows: int = 2_000, seed: int = 0) -> None:
        self.max_rows = max_rows
        self.landmark_rows = landmark_rows
        self.seed = seed

    def _check_params(self) -> None:
        for key in ("max_rows", "landmark_rows"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 10:
                raise InputError(f"{key} must be an integer >= 10, but got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputError(f"seed must be an integer, but got {self.seed!r}")

    def compute(self, table: Table) -> dict[str, float]:
        """Meta-features of `table`, keyed and ordered as `META_FEATURE_NAMES`."""
        self._check_params()
        # One BLAS/OpenMP thread: the matrices are small (sample x ~100), and on a shared CPU a
        # descheduled worker thread stalls the others (measured 1.1-3.5 s threaded vs 0.7-0.9 s).
        with threadpool_limits(1):
            return self._compute(table)

    def _compute(self, table: Table) -> dict[str, float]:
        frame, y = _checked(table)
        rng = np.random.default_rng(self.seed)
        idx = _subsample(len(frame), self.max_rows, rng)
        sub, y_sub = frame.iloc[idx], y.iloc[idx]
        self.rows_used_ = len(sub)
        lm = _subsample(len(sub), self.landmark_rows, rng)
        self.landmark_rows_used_ = len(lm)

        columns = _Columns.split(sub)
        classification = table.task != "regression"
        target = _encode_target(y_sub, classification, table.target)
        design = _design_matrix(columns)

        out: dict[str, float] = {}
        out.update(_simple(frame, y, sub, columns, classification, target))
        out.update(_statistical(columns.numeric))
        out.update(_info_theory(columns, target, lm, classification, self.seed, out))
        out.update(_landmarkers(design[lm], target[lm], classification, self.seed))
        out.update(_pca(design))
        return {name: _finite(out[name]) for name in META_FEATURE_NAMES}


def compute_meta_features(table: Table, **params: Any) -> dict[str, float]:
    """`MetaFeatureExtractor(**params).compute(table)`."""
    return MetaFeatureExtractor(**params).compute(table)


# --- input ---------------------------------------------------------------------------------------


def _checked(table: Table) -> tuple[pd.DataFrame, pd.Series]:
    """The table's rows with a known target; errors name the table and what is wrong."""
    if table.task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}, but got {table.task!r}")
    if table.frame.shape[1] == 0:
        raise DataError(f"table {table.name!r} has no feature columns")
    if len(table.frame) != len(table.y):
        raise DataError(
            f"table {table.name!r}: frame has {len(table.frame)} rows but target "
            f"{table.target!r} has {len(table.y)}"
        )
    known = table.y.notna().to_numpy()
    if not known.all():
        frame, y = table.frame.iloc[known], table.y.iloc[known]
    else:
        frame, y = table.frame, table.y
    if len(frame) == 0:
        raise DataError(f"table {table.name!r}: target {table.target!r} has no known values")
    return frame, y


def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row positions: all rows if `n <= size`, else `size` drawn without replacement."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


class _Columns:
    """The subsample split into a float matrix of numeric columns and integer codes of the rest."""

    def __init__(self, numeric: np.ndarray, codes: np.ndarray, cardinality: list[int]) -> None:
        self.numeric = numeric  # rows x numeric columns, NaN = missing
        self.codes = codes  # rows x categorical columns, -1 = missing
        self.cardinality = cardinality

    @classmethod
    def split(cls, sub: pd.DataFrame) -> _Columns:
        is_num = [
            pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in sub.dtypes
        ]
        num_cols = [c for c, keep in zip(sub.columns, is_num, strict=True) if keep]
        cat_cols = [c for c, keep in zip(sub.columns, is_num, strict=True) if not keep]
        numeric = np.empty((len(sub), len(num_cols)))
        for j, col in enumerate(num_cols):
            numeric[:, j] = sub[col].to_numpy(dtype=float, na_value=np.nan)
        numeric[~np.isfinite(numeric)] = np.nan
        codes = np.empty((len(sub), len(cat_cols)), dtype=np.int64)
        cardinality = []
        for j, col in enumerate(cat_cols):
            codes[:, j], uniques = pd.factorize(sub[col], use_na_sentinel=True)
            cardinality.append(len(uniques))
        return cls(numeric, codes, cardinality)


def _encode_target(y: pd.Series, classification: bool, name: str) -> np.ndarray:
    if classification:
        return pd.factorize(y, sort=True)[0]
    try:
        values = pd.to_numeric(y, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            f"regression target {name!r} must be numeric, but got values like {y.iloc[0]!r}"
        ) from None
    if not np.isfinite(values).all():
        raise DataError(f"regression target {name!r} holds infinite values")
    return values


def _standardised(x: np.ndarray) -> np.ndarray:
    """Columns scaled to mean 0, std 1, missing -> 0 (the mean); constant columns dropped."""
    z, _, _, varies = _moments(x)
    return z[:, varies]


def _design_matrix(columns: _Columns) -> np.ndarray:
    """Standardised numeric columns + one-hot of each categorical's most frequent values."""
    blocks = [columns.numeric]
    for j in range(columns.codes.shape[1]):
        codes = columns.codes[:, j]
        counts = np.bincount(codes[codes >= 0], minlength=1)
        top = np.argsort(-counts, kind="stable")[:_TOP_CATEGORIES]
        blocks.append((codes[:, None] == top[None, :]).astype(float))
    return _standardised(np.hstack(blocks))


# --- groups --------------------------------------------------------------------------------------


def _simple(
    frame: pd.DataFrame,
    y: pd.Series,
    sub: pd.DataFrame,
    columns: _Columns,
    classification: bool,
    target: np.ndarray,
) -> dict[str, float]:
    n_rows, n_features = frame.shape
    missing = sub.isna().to_numpy()
    out = {
        "n_rows": n_rows,
        "n_features": n_features,
        "log_rows": math.log10(n_rows),
        "log_features": math.log10(n_features),
        "log_rows_per_feature": math.log10(n_rows / n_features),
        "n_numeric": columns.numeric.shape[1],
        "n_categorical": columns.codes.shape[1],
        "pct_missing_cells": 100.0 * missing.mean(),
        "pct_rows_with_missing": 100.0 * missing.any(axis=1).mean(),
        "cat_cardinality_mean": float(np.mean(columns.cardinality)) if columns.cardinality else 0,
        "n_classes": 0,
        "class_imbalance": 0,
        "majority_class_fraction": 0,
        "class_entropy": 0,
        "target_skew": 0,
        "target_kurtosis": 0,
        "target_cv": 0,
    }
    if classification:
        # Class counts from the full target: cheap, and a rare class is not lost to sampling.
        counts = y.value_counts().to_numpy(dtype=float)
        p = counts / counts.sum()
        out.update(
            n_classes=len(counts),
            class_imbalance=counts.min() / counts.max(),
            majority_class_fraction=p.max(),
            class_entropy=float(-(p * np.log2(p)).sum()),
        )
    else:
        _, skew, kurt, _ = _moments(target[:, None])
        mean, std = float(target.mean()), float(target.std())
        out.update(
            target_skew=skew[0],
            target_kurtosis=kurt[0],
            target_cv=min(std / abs(mean), _TARGET_CV_CAP) if mean != 0 else _TARGET_CV_CAP,
        )
    return out


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column, ignoring missing cells: z-scores (missing -> 0), skewness, excess kurtosis, and
    whether the column varies. Constant and empty columns get 0 throughout."""
    observed = np.isfinite(x)
    count = np.maximum(observed.sum(axis=0), 1)
    mean = np.where(observed, x, 0.0).sum(axis=0) / count
    d = np.where(observed, x - mean, 0.0)
    d2 = d * d
    m2 = d2.sum(axis=0) / count
    varies = m2 > 1e-12
    safe = np.where(varies, m2, 1.0)
    skew = np.where(varies, (d2 * d).sum(axis=0) / count / safe**1.5, 0.0)
    kurt = np.where(varies, (d2 * d2).sum(axis=0) / count / safe**2 - 3.0, 0.0)
    return d / np.sqrt(safe), skew, kurt, varies


def _statistical(numeric: np.ndarray) -> dict[str, float]:
    out = dict.fromkeys(GROUPS["statistical"], 0.0)
    if numeric.shape[1] == 0:
        return out
    z, skew, kurt, varies = _moments(numeric)
    observed = np.isfinite(numeric).sum()
    out.update(
        skew_abs_mean=float(np.mean(np.abs(skew))),
        skew_abs_median=float(np.median(np.abs(skew))),
        kurtosis_mean=float(np.mean(kurt)),
        kurtosis_median=float(np.median(kurt)),
        outlier_rate=float(np.sum(np.abs(z) > 3) / observed) if observed else 0.0,
    )
    z = z[:, varies]
    if z.shape[1] >= 2:
        # Pairwise-complete correlations are costly; missing cells count as the mean (z = 0).
        corr = np.abs(z.T @ z) / len(z)
        off = corr[~np.eye(len(corr), dtype=bool)]
        out.update(corr_abs_mean=float(off.mean()), corr_abs_max=float(min(off.max(), 1.0)))
    return out


def _info_theory(
    columns: _Columns,
    target: np.ndarray,
    rows: np.ndarray,
    classification: bool,
    seed: int,
    simple: dict[str, float],
) -> dict[str, float]:
    out = dict.fromkeys(GROUPS["info_theory"], 0.0)
    if classification and simple["n_classes"] > 1:
        out["target_entropy_norm"] = simple["class_entropy"] / math.log2(simple["n_classes"])
    numeric = columns.numeric[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        numeric = np.where(np.isnan(numeric), np.nanmedian(numeric, axis=0), numeric)
    x = np.hstack([np.nan_to_num(numeric), columns.codes[rows]])
    y = target[rows]
    if len(y) < 4 or (classification and len(np.unique(y)) < 2):
        return out
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    discrete = np.arange(x.shape[1]) >= numeric.shape[1]
    estimate = mutual_info_classif if classification else mutual_info_regression
    with warnings.catch_warnings():
        # "more unique classes than half the samples": `load_table` says so in its own note.
        warnings.filterwarnings("ignore", "The number of unique classes", UserWarning)
        mi = estimate(x, y, discrete_features=discrete, n_neighbors=3, random_state=seed)
    out.update(mi_mean=float(mi.mean()), mi_max=float(mi.max()))
    return out


def _landmarkers(x: np.ndarray, y: np.ndarray, classification: bool, seed: int) -> dict[str, float]:
    # scikit-learn loads here, not with the module: meta-features cached by `meta_features_of`
    # (a warm `suggest`) need none of it.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    out = dict.fromkeys(GROUPS["landmarkers"], 0.0)
    if x.shape[1] == 0:
        return out
    if classification:
        # A class needs one member per fold to be learnable at all; rarer ones are left out.
        labels, counts = np.unique(y, return_counts=True)
        keep = np.isin(y, labels[counts >= _CV_FOLDS])
        x, y = x[keep], y[keep]
        if len(np.unique(y)) < 2:
            return out
        folds: Any = StratifiedKFold(_CV_FOLDS, shuffle=True, random_state=seed)
        models: dict[str, Any] = {
            "landmark_1nn": KNeighborsClassifier(n_neighbors=1),
            "landmark_stump": DecisionTreeClassifier(max_depth=1, random_state=seed),
            "landmark_naive_bayes": GaussianNB(),
            "landmark_linear": LogisticRegression(max_iter=200),
        }
        scoring = "accuracy"
    else:
        if len(y) < 2 * _CV_FOLDS:
            return out
        folds = KFold(_CV_FOLDS, shuffle=True, random_state=seed)
        models = {
            "landmark_1nn": KNeighborsRegressor(n_neighbors=1),
            "landmark_stump": DecisionTreeRegressor(max_depth=1, random_state=seed),
            "landmark_linear": Ridge(alpha=1.0),
        }
        scoring = "r2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            score = float(np.mean(cross_val_score(model, x, y, cv=folds, scoring=scoring)))
            out[name] = max(score, -1.0)
    return out


def _pca(design: np.ndarray) -> dict[str, float]:
    out = dict.fromkeys(GROUPS["pca"], 0.0)
    if design.shape[1] == 0:
        return out
    eigen = np.clip(np.linalg.eigvalsh(design.T @ design)[::-1], 0.0, None)
    ratio = np.cumsum(eigen) / eigen.sum()
    k = int(np.searchsorted(ratio, 0.95 - 1e-12) + 1)
    out.update(
        pca_95_components=k,
        pca_95_fraction=k / design.shape[1],
        pca_first_component_var=float(ratio[0]),
    )
    return out


def _finite(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0
