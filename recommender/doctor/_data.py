"""Checks on the table itself, before any model: the target, leakage, useless columns, scale."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.model_selection import cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from recommender.doctor._report import Check
from training import Table
from training.tables import is_numeric_feature

IMBALANCE_RATIO = 20.0  # majority : minority above this is worth a warning
SKEW_LIMIT = 3.0  # |skewness| of a regression target above this suggests a log transform
LEAK_SCORE = 0.99  # cross-validated balanced accuracy / R^2 of one feature alone
NEAR_CONSTANT = 0.99  # share of the most frequent value
OUTLIER_Z = 50.0  # |x - mean| / std above this: standardisation is dominated by a few values
MAX_DECADES = 6.0  # a positive column spanning more orders of magnitude than this
SAMPLE_ROWS = 5000  # rows the per-column scans look at


def _sample(table: Table, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(table.frame) <= SAMPLE_ROWS:
        return table.frame, table.y
    rows = np.random.default_rng(seed).choice(len(table.frame), SAMPLE_ROWS, replace=False)
    return table.frame.iloc[rows], table.y.iloc[rows]


def _names(columns: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def check_target(table: Table) -> Check:
    """Classes far out of balance, or a regression target with a long tail."""
    if table.task == "regression":
        skew = float(table.y.astype(float).skew())
        details: dict[str, Any] = {"skewness": skew}
        if abs(skew) > SKEW_LIMIT:
            return Check("target", "warn",
                         f"the target '{table.target}' is heavily skewed (skewness {skew:.1f}): "
                         "a few extreme values dominate the squared error",
                         "predict log(y) (or a rank transform) if y is positive, or use mae",
                         details)
        return Check("target", "pass",
                     f"regression target '{table.target}' is not heavily skewed "
                     f"(skewness {skew:.1f})", "", details)
    counts = table.y.value_counts()
    ratio = float(counts.iloc[0] / counts.iloc[-1])
    details = {"class_counts": {str(k): int(v) for k, v in counts.items()}, "ratio": ratio}
    minority = counts.index[-1]
    share = counts.iloc[-1] / counts.sum()
    if ratio > IMBALANCE_RATIO:
        return Check("target", "warn",
                     f"classes are imbalanced: '{minority}' is {share:.1%} of rows "
                     f"(1:{ratio:.0f})",
                     "judge by log loss or balanced accuracy (not accuracy), and consider class "
                     "weights or resampling", details)
    return Check("target", "pass",
                 f"{len(counts)} classes, the rarest '{minority}' is {share:.1%} of rows", "",
                 details)


def _codes(column: pd.Series) -> np.ndarray:
    if is_numeric_feature(column):
        values = column.astype(float)
        return values.fillna(values.median()).to_numpy().reshape(-1, 1)
    return column.astype(str).astype("category").cat.codes.to_numpy().reshape(-1, 1)


def _alone(model: Any, x: np.ndarray, y: np.ndarray, folds: int, scoring: str) -> float:
    """How well one feature predicts the target: a shallow tree, cross-validated; for regression
    also |Spearman| (a monotone copy of a long-tailed target defeats a tree's extrapolation)."""
    score = float(np.mean(cross_val_score(model, x, y, cv=folds, scoring=scoring)))
    if scoring == "r2" and np.std(x) > 0:
        score = max(score, abs(float(spearmanr(x[:, 0], y).statistic)))
    return score


def check_leakage(table: Table, seed: int = 0) -> Check:
    """A feature that predicts the target (nearly) perfectly on its own is usually a leak: a copy
    or relabelling of the target, or something measured after it."""
    frame, y = _sample(table, seed)
    if table.task == "regression":
        model, scoring = DecisionTreeRegressor(max_depth=6, random_state=seed), "r2"
        target = y.astype(float).to_numpy()
    else:
        model = DecisionTreeClassifier(max_depth=6, random_state=seed)
        scoring, target = "balanced_accuracy", y.astype(str).to_numpy()
    folds = 3 if table.task == "regression" else min(3, int(y.value_counts().min()))
    if folds < 2:
        return Check("leakage", "pass", "too few rows of the rarest class to test features one "
                     "by one", "", {})
    scores = {column: _alone(model, _codes(frame[column]), target, folds, scoring)
              for column in frame.columns}
    suspects = sorted((c for c, s in scores.items() if s >= LEAK_SCORE), key=lambda c: -scores[c])
    details = {"suspects": {c: scores[c] for c in suspects},
               "best_single_feature": max(scores, key=scores.__getitem__)}
    if suspects:
        return Check("leakage", "fail",
                     f"{_names(suspects)} alone predict(s) '{table.target}' almost perfectly "
                     f"(cross-validated {scoring} {scores[suspects[0]]:.3f})",
                     "drop it unless it is truly known before the target (load_table(drop=...)); "
                     "else the task is trivial and needs no network", details)
    best = details["best_single_feature"]
    return Check("leakage", "pass",
                 f"no single feature predicts the target; the best alone is '{best}' "
                 f"({scoring} {scores[best]:.2f})", "", details)


def check_columns(table: Table) -> Check:
    """Columns loading kept although they carry (almost) nothing: near-constant, or one value per
    row like a row number or an identifier. Loading already drops exact constants and IDs."""
    dropped = [note for note in table.notes if note.startswith("dropped column")]
    n = len(table.frame)
    near_constant, id_like = [], []
    for column in table.frame.columns:
        values = table.frame[column]
        top_share = values.value_counts(dropna=False).iloc[0] / n
        unique = values.nunique()
        if top_share >= NEAR_CONSTANT:
            near_constant.append(column)
        elif is_numeric_feature(values):
            whole = values.dropna().to_numpy(dtype=float)
            if unique == n and np.all(whole == np.round(whole)):
                id_like.append(column)
        elif unique > 0.9 * n:
            id_like.append(column)
    details = {"near_constant": near_constant, "id_like": id_like, "dropped_by_loading": dropped}
    kept = " ".join(f"{note};" for note in dropped)
    if near_constant or id_like:
        parts = ([f"near-constant (one value in >= {NEAR_CONSTANT:.0%} of rows): "
                  f"{_names(near_constant)}"] if near_constant else []) + (
            [f"ID-like (a different whole number or text in almost every row): "
             f"{_names(id_like)}"] if id_like else [])
        return Check("columns", "warn", "kept columns that carry little: " + "; ".join(parts),
                     "drop them (load_table(drop=...)) unless they mean something; row numbers "
                     "and IDs only let the network memorise rows", details)
    return Check("columns", "pass",
                 f"every kept column varies and none looks like an ID. {kept}".strip(), "",
                 details)


def check_scale(table: Table) -> Check:
    """Training standardises numeric columns, which a few extreme values or a range over many
    orders of magnitude defeat: most rows then sit in a sliver of the scaled range."""
    extreme: dict[str, str] = {}
    for column in table.frame.columns:
        if not is_numeric_feature(table.frame[column]):
            continue
        x = table.frame[column].dropna().to_numpy(dtype=float)
        std = x.std()
        if len(x) < 2 or std == 0:
            continue
        z = float(np.max(np.abs(x - x.mean())) / std)
        if x.min() > 0 and np.log10(x.max() / x.min()) > MAX_DECADES:
            extreme[column] = f"spans {np.log10(x.max() / x.min()):.0f} orders of magnitude"
        elif z > OUTLIER_Z:
            extreme[column] = f"a value {z:.0f} standard deviations from the mean"
    details = {"extreme": extreme}
    if extreme:
        first = next(iter(extreme))
        return Check("scale", "warn",
                     f"{_names(list(extreme))}: standardising is dominated by extreme values "
                     f"('{first}': {extreme[first]})",
                     "log-transform positive long-tailed columns, or clip outliers, before "
                     "training", details)
    n_numeric = sum(is_numeric_feature(table.frame[c]) for c in table.frame.columns)
    return Check("scale", "pass",
                 f"{n_numeric} numeric column(s), standardised by training, none with extreme "
                 "values", "", details)
