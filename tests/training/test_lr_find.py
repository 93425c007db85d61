from __future__ import annotations

import math

import numpy as np
import pytest

from hpo_common.errors import ConfigError
from training import PreparedData, TrainConfig, lr_find, plot_lr_find


def test_lr_find_suggests_a_finite_rate_in_range(cancer: PreparedData) -> None:
    result = lr_find(cancer, TrainConfig(optimizer="sgd", batch_size=32), steps=80)
    lrs = np.array(result.learning_rates)
    assert len(lrs) == len(result.losses) >= 10
    assert np.all(np.diff(lrs) > 0) and lrs[0] == pytest.approx(1e-7)
    assert math.isfinite(result.suggested_lr) and 1e-7 <= result.suggested_lr <= 10
    # It stops when the loss blows up, before the end of the sweep.
    assert len(lrs) < 80


def test_lr_find_regression_and_plot(regression: PreparedData, tmp_path) -> None:
    result = lr_find(regression, min_lr=1e-5, max_lr=1.0, steps=30)
    assert 1e-5 <= result.suggested_lr <= 1.0
    path = plot_lr_find(result, tmp_path / "lr.png")
    assert path.stat().st_size > 1000


def test_lr_find_rejects_bad_range(cancer: PreparedData) -> None:
    with pytest.raises(ConfigError, match="min_lr < max_lr"):
        lr_find(cancer, min_lr=1.0, max_lr=0.1)
    with pytest.raises(ConfigError, match="steps >= 2"):
        lr_find(cancer, steps=1)
