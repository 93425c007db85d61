"""The learning-curve model behind the learned pruner, fitted on the seed KB's real curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.search._curve_model import CurveModel, log_error, prefix_features, training_rows

SEED_KB = Path(__file__).resolve().parents[3] / "recommender" / "data" / "seed_kb"


@pytest.fixture(scope="module")
def seed_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    runs = pd.read_parquet(SEED_KB / "runs.parquet")
    curves = pd.read_parquet(SEED_KB / "curves.parquet")
    return training_rows(runs, curves)


def test_log_error_puts_losses_and_bounded_scores_on_one_scale() -> None:
    assert log_error([0.5], "log_loss")[0] == pytest.approx(math.log(0.5))
    assert log_error([0.75], "r2")[0] == pytest.approx(math.log(0.25))
    assert log_error([0.9], "accuracy")[0] == pytest.approx(math.log(0.1))
    assert math.isnan(log_error([math.nan], "rmse")[0])


def test_prefix_features_never_look_ahead() -> None:
    curve = log_error([0.9, 0.7, 0.75, 0.5, 0.45, 0.6], "log_loss")
    config = {"max_epochs": 30, "patience": 5, "lr_schedule": "cosine", "warmup_epochs": 2}
    whole = prefix_features(curve, config)
    for k in range(1, len(curve) + 1):
        np.testing.assert_allclose(prefix_features(curve[:k], config)[-1], whole[k - 1])


def test_optimistic_bound_covers_held_out_datasets(seed_rows) -> None:
    features, remaining, groups = seed_rows
    held_out = np.isin(groups, np.unique(groups)[::5])
    model = CurveModel(alpha=0.98, n_estimators=100).fit(features[~held_out], remaining[~held_out])
    predicted = model.model_.predict(
        pd.DataFrame(features[held_out], columns=model.model_.feature_name_)
    )
    coverage = float(np.mean(remaining[held_out] <= np.maximum(predicted, 0) + 1e-9))
    assert coverage >= 0.9, coverage


def test_a_descending_curve_is_given_more_room_than_a_flat_one(seed_rows) -> None:
    features, remaining, _ = seed_rows
    model = CurveModel(n_estimators=100).fit(features, remaining)
    config = {"max_epochs": 50, "patience": 10, "lr_schedule": "constant", "warmup_epochs": 0}
    descending = [0.69, 0.60, 0.52, 0.45]
    flat = [0.69, 0.451, 0.4505, 0.45]
    room = [model.optimistic_best(c, "log_loss", config) for c in (descending, flat)]
    assert room[0] < room[1]  # the descending curve may still end lower
