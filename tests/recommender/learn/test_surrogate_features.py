"""The surrogate's feature layout has one owner; the surrogate follows the estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from recommender.learn import META_FEATURE_NAMES, Surrogate, SurrogateFeatures
from recommender.space import Categorical, Float, SearchSpace


def _space() -> SearchSpace:
    return SearchSpace({"optimizer": Categorical(("sgd", "adam")), "dropout": Float(0.0, 0.5)})


def test_layout_is_meta_features_then_the_encoded_configuration() -> None:
    layout = SurrogateFeatures(_space())
    n_meta = len(META_FEATURE_NAMES)
    meta = {META_FEATURE_NAMES[0]: 2.0}  # the others unknown
    X = layout.transform(meta, [{"optimizer": "adam", "dropout": 0.1}])
    assert X.shape == (1, layout.n_features) == (1, n_meta + 2)
    assert X[0, 0] == 2.0 and np.isnan(X[0, 1:n_meta]).all()
    np.testing.assert_array_equal(
        X[0, n_meta:], _space().encode([{"optimizer": "adam", "dropout": 0.1}])[0]
    )
    assert layout.categorical == [n_meta + i for i in _space().categorical_indices]
    encoded = _space().encode([{"optimizer": "sgd", "dropout": 0.2}] * 3)
    assert layout.rows(meta, encoded).shape == (3, layout.n_features)


def test_surrogate_predicts_mean_or_mean_and_std_and_checks_the_feature_count() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = X[:, 0] - X[:, 1] ** 2
    model = Surrogate(n_models=4, n_estimators=30).fit(X, y, np.repeat(np.arange(3), 100))
    members = model.predict_members(X[:5])
    assert members.shape == (4, 5)
    assert model.predict_members(X[:5], members=2).shape == (2, 5)
    np.testing.assert_allclose(model.predict(X[:5]), members.mean(axis=0))
    mean, std = model.predict(X[:5], return_std=True)
    np.testing.assert_allclose(std, members.std(axis=0))
    with pytest.raises(ValueError, match=r"X has 2 features, but this Surrogate was fitted on 3"):
        model.predict(X[:5, :2])


def test_surrogate_settings_are_its_params() -> None:
    model = Surrogate(n_models=3, seed=7)
    assert model.get_params()["n_models"] == 3 and model.get_params()["seed"] == 7
    assert clone(model).get_params() == model.get_params()
