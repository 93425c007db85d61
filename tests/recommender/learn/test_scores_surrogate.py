from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import _cores as cores_module
from recommender.learn import (
    META_FEATURE_NAMES,
    KBPrior,
    Surrogate,
    SurrogateFeatures,
    normalised_scores,
    objective_for,
)
from recommender.learn._surrogate import NotFittedError
from recommender.space import Float, SearchSpace


def test_scores_rank_within_each_dataset_and_failures_are_worst() -> None:
    runs = pd.DataFrame(
        {
            "dataset_id": ["a", "a", "a", "b", "b"],
            "task": ["binary", "binary", "binary", "regression", "regression"],
            "status": ["ok", "ok", "diverged", "ok", "failed"],
            "log_loss": [0.2, 0.5, 0.1, None, None],
            "r2": [None, None, None, 0.3, None],
        }
    )
    scores = normalised_scores(runs)
    assert scores[0] > scores[1] > scores[2]  # lower log loss is better; diverged is worst
    assert scores[3] > scores[4]
    assert scores[0] == pytest.approx(-scores[2])  # quantiles are symmetric


def test_scores_are_comparable_across_scales() -> None:
    runs = pd.DataFrame(
        {
            "dataset_id": ["a"] * 3 + ["b"] * 3,
            "task": "regression",
            "r2": [0.9, 0.95, 0.97, 0.1, 0.2, 0.3],
        }
    )
    scores = normalised_scores(runs)
    assert np.allclose(scores[:3].to_numpy(), scores[3:].to_numpy())


@pytest.mark.parametrize(
    ("task", "requested", "expected"),
    [
        ("binary", None, "log_loss"),
        ("regression", None, "r2"),
        ("binary", "roc_auc", "roc_auc"),
        ("multiclass", "roc_auc", "log_loss"),
        ("regression", "accuracy", "r2"),
        ("regression", "mae", "mae"),
    ],
)
def test_objective_for_task(task: str, requested: str | None, expected: str) -> None:
    assert objective_for(task, requested) == expected


def test_surrogate_learns_and_reports_uncertainty() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(600, 3))
    y = -((X[:, 0] - 0.3) ** 2) + 0.1 * X[:, 1]
    groups = np.repeat(np.arange(6), 100)
    model = Surrogate(n_models=3, n_estimators=100).fit(X, y, groups)
    mean, std = model.predict(np.array([[0.3, 0.0, 0.0], [-1.0, 0.0, 0.0]]), return_std=True)
    assert mean[0] > mean[1]
    assert (std >= 0).all()


def test_surrogate_members_do_not_depend_on_the_threads_fitting_them(monkeypatch) -> None:
    # Members fit side by side, one thread per core: the ensemble must be the one a single
    # thread fits, member for member, or a cached surrogate would depend on the machine.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(900, 4))
    y = X[:, 0] - X[:, 1] ** 2 + 0.1 * rng.normal(size=900)
    groups = np.repeat(np.arange(9), 100)
    fitted = {}
    for cores in (1, 3):
        monkeypatch.setattr(cores_module, "usable_cores", lambda cores=cores: cores)
        model = Surrogate(n_models=4, n_estimators=40, max_rows=500).fit(X, y, groups)
        fitted[cores] = model.predict_members(X[:50])
    np.testing.assert_array_equal(fitted[1], fitted[3])
    assert not np.allclose(fitted[1][1], fitted[1][2])  # the members are not one model


def test_surrogate_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        Surrogate().predict(np.zeros((1, 2)))


def test_search_prior_is_the_smaller_ensemble_inside_the_zero_shot_one() -> None:
    # The search takes the first members of the KB surrogate: exactly the ensemble a smaller
    # `n_models` with the same seed would fit, so its per-ask cost stays that of a few members.
    rng = np.random.default_rng(0)
    n_meta = len(META_FEATURE_NAMES)
    X = np.hstack([rng.normal(size=(400, n_meta)), rng.uniform(-1, 1, size=(400, 2))])
    y = -((X[:, n_meta] - 0.3) ** 2) + 0.1 * X[:, 0]
    groups = np.repeat(np.arange(8), 50)
    settings = {"n_estimators": 30, "seed": 3}
    zero_shot = Surrogate(n_models=8, **settings).fit(X, y, groups)
    small = Surrogate(n_models=3, **settings).fit(X, y, groups)
    meta = dict(zip(META_FEATURE_NAMES, X[0, :n_meta], strict=True))
    two_floats = SearchSpace({"a": Float(-1.0, 1.0), "b": Float(-1.0, 1.0)})
    prior = KBPrior(zero_shot, SurrogateFeatures(two_floats), meta, members=3)
    configs = X[:20, n_meta:]
    expected = small.predict_members(np.hstack([np.tile(X[0, :n_meta], (20, 1)), configs]))
    assert prior.n_members == 3
    np.testing.assert_allclose(prior.predict_members(configs), expected)
