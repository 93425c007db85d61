"""blackbox_pruning's replay: a seed dataset's recorded curves answer a black-box study's asks,
every pruner sees the same proposals, and a pruned search can only save epochs and lose
incumbents against the unpruned one on them."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.blackbox_pruning import Task, load_tasks, regret_within, search
from recommender.search import EnvelopePruner


@pytest.fixture(scope="module")
def task() -> Task:
    return load_tasks(max_epochs=50)[0]  # the shipped seed's first dataset


def test_a_pruned_search_saves_epochs_on_the_same_proposals(task: Task) -> None:
    none = search(task, "none", 0, 20, EnvelopePruner())
    learned = search(task, "learned", 0, 20, EnvelopePruner(n_startup_trials=3, slack=1.0))
    assert learned["epochs"] < none["epochs"]  # the default pruner judges a "value" study
    assert np.all(np.array(learned["regret"]) >= np.array(none["regret"]))
    assert learned["lost"] <= 20 and none["lost"] == 0
    assert np.all(np.diff(none["regret"]) <= 0) and 0.0 <= none["regret"][-1] <= 1.0
    assert none["spent"][-1] == none["epochs"]


def test_regret_within_an_epoch_budget_takes_the_last_trial_that_fits() -> None:
    row = {"regret": [0.5, 0.2, 0.1], "spent": [10, 30, 45]}
    assert regret_within(row, 9) == 1.0  # no trial ended within 9 epochs
    assert regret_within(row, 30) == 0.2
    assert regret_within(row, 100) == 0.1
