from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hpo_common.errors import DataError, InputError
from recommender.learn import (
    GROUPS,
    META_FEATURE_NAMES,
    MetaFeatureExtractor,
    compute_meta_features,
)
from training import Table

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _table(frame: pd.DataFrame, y: pd.Series | np.ndarray, task: str) -> Table:
    return Table(frame, pd.Series(y, name="target"), "target", task, "fp", "test")


def _csv_table(name: str, target: str, task: str) -> Table:
    frame = pd.read_csv(EXAMPLES / name)
    return _table(frame.drop(columns=[target]), frame[target], task)


def _mixed(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "skewed": rng.exponential(size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
        }
    )


@pytest.mark.parametrize(
    ("name", "target", "task", "classes"),
    [
        ("breast_cancer.csv", "diagnosis", "binary", 2),
        ("wine.csv", "cultivar", "multiclass", 3),
        ("diabetes.csv", "progression", "regression", 0),
    ],
)
def test_same_finite_keys_for_every_task(name: str, target: str, task: str, classes: int) -> None:
    table = _csv_table(name, target, task)
    features = compute_meta_features(table)
    assert tuple(features) == META_FEATURE_NAMES
    assert all(isinstance(v, float) and math.isfinite(v) for v in features.values())
    assert features["n_rows"] == table.n_rows
    assert features["n_features"] == table.n_features
    assert features["n_classes"] == classes
    if task == "regression":
        assert features["class_entropy"] == 0 and features["landmark_naive_bayes"] == 0
        assert features["target_cv"] > 0
    else:
        assert features["landmark_1nn"] > 0.6 and features["landmark_linear"] > 0.8  # easy data
        assert features["target_skew"] == 0


def test_meta_feature_names_are_unique_and_grouped() -> None:
    assert len(set(META_FEATURE_NAMES)) == len(META_FEATURE_NAMES)
    assert set(GROUPS) == {"simple", "statistical", "info_theory", "landmarkers", "pca"}


def test_deterministic_for_a_seed() -> None:
    frame = _mixed(3000)
    table = _table(frame, (frame["signal"] > 0).astype(int), "binary")
    first = MetaFeatureExtractor(max_rows=1000, landmark_rows=300, seed=3).compute(table)
    again = MetaFeatureExtractor(max_rows=1000, landmark_rows=300, seed=3).compute(table)
    assert first == again
    other = MetaFeatureExtractor(max_rows=1000, landmark_rows=300, seed=4).compute(table)
    assert other != first and other["n_rows"] == first["n_rows"] == 3000


def test_large_tables_are_subsampled_to_a_bounded_size() -> None:
    n = 200_000
    frame = _mixed(n, seed=1)
    table = _table(frame, (frame["signal"] > 0).astype(int), "binary")
    extractor = MetaFeatureExtractor()
    features = extractor.compute(table)
    assert (extractor.rows_used_, extractor.landmark_rows_used_) == (20_000, 2_000)
    assert features["n_rows"] == n and features["log_rows"] == pytest.approx(math.log10(n))
    small = MetaFeatureExtractor(max_rows=50_000, landmark_rows=500)
    small.compute(_table(frame.iloc[:1000], table.y.iloc[:1000], "binary"))
    assert (small.rows_used_, small.landmark_rows_used_) == (1000, 500)


def test_missing_values_and_categoricals_are_handled() -> None:
    rng = np.random.default_rng(2)
    n = 400
    frame = _mixed(n, seed=2)
    frame.loc[frame.index[:100], "noise"] = np.nan  # 100 of 400 rows
    frame["all_missing"] = np.nan
    frame["constant"] = 1.0
    frame["flag"] = rng.random(n) < 0.5  # bool counts as numeric
    frame["city"] = pd.Series(rng.choice(["a", "b", None], size=n), dtype="str")
    frame["grade"] = pd.Categorical(rng.choice(["x", "y"], size=n))
    y = (frame["signal"] > 0).astype(int).to_numpy()
    features = compute_meta_features(_table(frame, y, "binary"))
    assert all(math.isfinite(v) for v in features.values())
    assert (features["n_numeric"], features["n_categorical"]) == (6, 3)
    missing = frame.isna().to_numpy()
    assert features["pct_missing_cells"] == pytest.approx(100 * missing.mean())
    assert features["pct_rows_with_missing"] == 100.0  # `all_missing` is missing everywhere
    assert features["cat_cardinality_mean"] == pytest.approx((3 + 2 + 2) / 3)


def test_rows_with_unknown_target_are_left_out() -> None:
    frame = _mixed(300, seed=3)
    y = pd.Series((frame["signal"] > 0).astype(float))
    y.iloc[:50] = np.nan
    features = compute_meta_features(_table(frame, y, "binary"))
    assert features["n_rows"] == 250 and features["n_classes"] == 2


def test_informative_data_scores_higher_than_noise() -> None:
    frame = _mixed(2000, seed=4)
    informative = _table(frame, (frame["signal"] > 0).astype(int), "binary")
    random_y = np.random.default_rng(5).integers(0, 2, size=2000)
    noise = _table(frame, random_y, "binary")
    a, b = compute_meta_features(informative), compute_meta_features(noise)
    assert a["mi_max"] > 0.3 > 0.05 > b["mi_max"]
    assert a["mi_max"] > 3 * a["mi_mean"] / 2  # one informative feature of four
    assert a["landmark_stump"] > 0.95 and b["landmark_stump"] < 0.6


def test_regression_landmarkers_and_target_statistics() -> None:
    frame = _mixed(1500, seed=6)
    y = 3 * frame["signal"] + 0.1 * np.random.default_rng(7).normal(size=1500) + 10
    features = compute_meta_features(_table(frame, y, "regression"))
    assert features["landmark_linear"] > 0.95
    assert features["target_cv"] == pytest.approx(y.std(ddof=0) / y.mean(), rel=1e-6)
    assert abs(features["target_skew"]) < 0.3
    assert features["mi_max"] > features["mi_mean"] > 0


def test_class_balance_features() -> None:
    n = 1000
    frame = _mixed(n, seed=8)
    y = np.array(["rare"] * 100 + ["common"] * 900)
    features = compute_meta_features(_table(frame, y, "binary"))
    assert features["class_imbalance"] == pytest.approx(100 / 900)
    assert features["majority_class_fraction"] == pytest.approx(0.9)
    entropy = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    assert features["class_entropy"] == pytest.approx(entropy)
    assert features["target_entropy_norm"] == pytest.approx(entropy)


def test_statistics_and_pca_see_redundant_columns() -> None:
    rng = np.random.default_rng(9)
    base = rng.normal(size=(1000, 1))
    copies = base + 1e-3 * rng.normal(size=(1000, 8))
    frame = pd.DataFrame(copies, columns=[f"c{i}" for i in range(8)])
    frame["outliers"] = np.where(rng.random(1000) < 0.02, 50.0, rng.normal(size=1000))
    features = compute_meta_features(_table(frame, (base[:, 0] > 0).astype(int), "binary"))
    assert features["corr_abs_max"] > 0.99
    assert features["pca_95_components"] == 2  # the copies, and the outlier column
    assert features["pca_95_fraction"] == pytest.approx(2 / 9)
    assert features["pca_first_component_var"] > 0.85
    assert 0.001 < features["outlier_rate"] < 0.01
    assert features["skew_abs_mean"] > 0.5  # the outlier column is very skewed


def test_invalid_input_is_explained() -> None:
    y = pd.Series([0, 1] * 5)
    with pytest.raises(DataError, match="table 'test' has no feature columns"):
        compute_meta_features(_table(pd.DataFrame(index=range(10)), y, "binary"))
    frame = pd.DataFrame({"x": range(10)})
    with pytest.raises(DataError, match="regression target 'target' must be numeric"):
        compute_meta_features(_table(frame, pd.Series(list("ab") * 5), "regression"))
    with pytest.raises(InputError, match="max_rows must be an integer >= 10, but got 0"):
        compute_meta_features(_table(frame, y, "binary"), max_rows=0)
    with pytest.raises(InputError, match="task must be one of binary, multiclass, regression"):
        compute_meta_features(_table(frame, y, "ranking"))
