"""The pruner's search replay: trials as a search meets them, the incumbent what it has seen."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.pruner_long_curves import search_replay
from recommender.search._curve_model import log_error


class NoGainLeft:
    """A curve model whose bound is the best value so far: the replay's bookkeeping is tested,
    not the model (tests/recommender/search/test_curve_model.py tests that)."""

    def optimistic_best(self, values, objective, config) -> float:
        return float(np.nanmin(log_error(values, objective)))


def test_a_stopped_trial_counts_with_what_it_reached_and_costs_the_regret_it_hides() -> None:
    ids = sorted((f"run{i}" for i in range(10)), key=lambda s: hashlib.sha256(s.encode()).digest())
    steady, late = np.array([0.5, 0.4, 0.3]), np.array([0.5, 0.45, 0.1])
    curves = {run: late if run == ids[1] else steady for run in ids}  # the 2nd trial blooms late
    runs = pd.DataFrame({
        "id": ids, "dataset_id": "d", "status": "ok", "objective": "log_loss", "max_epochs": 3,
        "patience": 2, "lr_schedule": "constant", "warmup_epochs": 0,
    })  # fmt: skip
    datasets, pruned, unpruned, at_10, at_n, worse_10, worse_n = search_replay(
        NoGainLeft(), runs, curves, n_trials=10
    )
    # The first trial runs whole (no incumbent yet); every later one is behind 0.3 at epoch 2.
    assert (datasets, pruned, unpruned) == (1, 3 + 9 * 2, 30)
    # Stopped at 0.45, the late bloomer's 0.1 stays hidden: the pruned search ends at 0.3.
    assert at_10 == at_n == pytest.approx(math.log(0.3) - math.log(0.1))
    assert worse_10 == worse_n == 1


def test_a_dataset_with_fewer_runs_than_trials_is_left_out() -> None:
    runs = pd.DataFrame({
        "id": ["a", "b"], "dataset_id": "d", "status": "ok", "objective": "log_loss",
        "max_epochs": 3, "patience": 2, "lr_schedule": "constant", "warmup_epochs": 0,
    })  # fmt: skip
    curves = {"a": np.array([0.5, 0.4]), "b": np.array([0.6, 0.5])}
    assert not search_replay(NoGainLeft(), runs, curves, n_trials=10).any()
