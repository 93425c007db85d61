"""The recipe elements of `TrainConfig`: preprocessing, target transform, embeddings, smoothing.

Each trains for real on a tiny table made here (numeric columns with outliers and missing values,
a low- and a high-cardinality categorical column).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from hpo_common.errors import ConfigError, DataError
from training import TrainConfig, build_model, for_config, load_table, prepare, train, train_many
from training.preprocess import fit_target_transform

FAST = {"max_epochs": 20, "width": 16, "batch_size": 32, "learning_rate": 1e-2}


def _frame(task: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 160
    x1 = rng.lognormal(size=n) * 100  # skewed, with outliers
    x2 = rng.normal(size=n)
    x2[::17] = np.nan
    city = rng.choice([f"c{i}" for i in range(40)], size=n)  # more than max_categories
    colour = rng.choice(["red", "green", "blue"], size=n)
    signal = np.log1p(x1) + (colour == "red")
    frame = pd.DataFrame({"x1": x1, "x2": x2, "city": city, "colour": colour})
    if task == "regression":
        frame["y"] = 10 * signal + rng.normal(scale=0.5, size=n)  # positive
    else:
        frame["y"] = np.where(signal > np.median(signal), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def reg_table():
    return load_table(_frame("regression"), target="y", task="regression")


@pytest.fixture(scope="module")
def clf_table():
    return load_table(_frame("binary"), target="y")


@pytest.mark.parametrize(
    "changes",
    [
        {"numeric_preprocessing": "robust"},
        {"numeric_preprocessing": "quantile"},
        {"target_transform": "none"},
        {"target_transform": "log1p"},
        {"target_transform": "quantile"},
        {"num_embedding": "periodic", "embedding_dim": 4},
        {"categorical": "embedding", "embedding_dim": 3},
        {"ensemble_size": 4, "batch_norm": True},
        {
            "num_embedding": "periodic",
            "categorical": "embedding",
            "numeric_preprocessing": "robust",
            "target_transform": "quantile",
        },
    ],
)
def test_each_element_trains_on_a_regression_table(reg_table, changes) -> None:
    data = prepare(reg_table, seed=0)
    result = train(TrainConfig(**FAST, **changes), data, device="cpu", metric="r2")
    assert result.status == "ok", result.error
    assert result.value > 0.3  # learns (signal is a function of x1 and colour)
    # Metrics are in original units: rmse is comparable with the target's own spread.
    assert result.metrics["rmse"] < np.std(data.y_val)


@pytest.mark.parametrize(
    "changes",
    [
        {"label_smoothing": 0.1},
        {"num_embedding": "periodic"},
        {"categorical": "embedding"},
        {"ensemble_size": 4, "dropout": 0.1},
        {"numeric_preprocessing": "quantile", "label_smoothing": 0.2},
    ],
)
def test_each_element_trains_on_a_classification_table(clf_table, changes) -> None:
    result = train(
        TrainConfig(**FAST, **changes), prepare(clf_table), device="cpu", metric="accuracy"
    )
    assert result.status == "ok", result.error
    assert result.value > 0.7


def test_label_smoothing_raises_the_validation_log_loss_floor(clf_table) -> None:
    """Smoothing trains towards probabilities short of 0/1, so on an easy table the validation
    log loss (always against the true labels) stays higher than without it."""
    data = prepare(clf_table)
    config = TrainConfig(max_epochs=60, patience=0, learning_rate=1e-2, width=32)
    plain = train(config, data, device="cpu")
    smooth = train(config.replace(label_smoothing=0.3), data, device="cpu")
    assert smooth.metrics["log_loss"] > plain.metrics["log_loss"]
    assert smooth.metrics["accuracy"] >= plain.metrics["accuracy"] - 0.1


def test_defaults_are_todays_recipe(clf_table) -> None:
    data = prepare(clf_table)
    assert for_config(data, TrainConfig()) is data
    assert data.recipe == ("standard", "onehot") and data.cardinalities == ()
    # A config's variant is built once and kept with the data.
    robust = TrainConfig(numeric_preprocessing="robust")
    assert for_config(data, robust) is for_config(data, robust)


def test_preprocessing_variants(clf_table) -> None:
    data = prepare(clf_table)
    robust = for_config(data, TrainConfig(numeric_preprocessing="robust"))
    numeric = robust.x_train[:, : robust.n_numeric]
    assert np.abs(numeric).max() < 3.0  # smooth clipping bounds every value by 3
    quantile = for_config(data, TrainConfig(numeric_preprocessing="quantile"))
    assert abs(np.median(quantile.x_train[:, 0])) < 0.1  # normal scores: median about 0
    embedded = for_config(data, TrainConfig(categorical="embedding"))
    # city (40 categories) becomes one code column at the end; colour stays one-hot.
    (cardinality,) = embedded.cardinalities
    assert 20 < cardinality <= 41  # the training rows' cities, plus one code for unseen ones
    codes = embedded.x_val[:, -1]
    assert codes.min() >= 0 and codes.max() < embedded.cardinalities[0]
    assert embedded.x_train.shape[1] == data.x_train.shape[1] - 20 + 1
    assert np.array_equal(embedded.y_val, data.y_val)


@pytest.mark.parametrize("kind", ["none", "standard", "log1p", "quantile"])
def test_target_transforms_round_trip_units(kind) -> None:
    y = np.random.default_rng(1).lognormal(size=300) * 1000
    transform = fit_target_transform(kind, y[:200], y[200:])
    scaled = transform.transform(y[200:].reshape(-1, 1))
    back = transform.inverse_transform(scaled).ravel()
    inside = (y[200:] >= y[:200].min()) & (y[200:] <= y[:200].max())  # quantiles clip outside
    assert np.allclose(back[inside], y[200:][inside], rtol=1e-6)
    if kind != "none":
        assert abs(float(np.mean(transform.transform(y[:200].reshape(-1, 1))))) < 0.2


def test_log1p_of_a_negative_target_names_the_value_and_the_choices() -> None:
    with pytest.raises(DataError, match=r"log1p.*-2.*'none', 'standard' or 'quantile'"):
        fit_target_transform("log1p", np.array([1.0, 2.0]), np.array([-2.0]))


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("numeric_preprocessing", "minmax", "standard, robust, quantile"),
        ("target_transform", "log", "none, standard, log1p, quantile"),
        ("num_embedding", "linear", "none, periodic"),
        ("categorical", "hash", "onehot, embedding"),
        ("embedding_dim", 0, ">= 1"),
        ("label_smoothing", 1.0, "< 1.0"),
        ("ensemble_size", 0, ">= 1"),
    ],
)
def test_invalid_values_name_the_field_and_the_valid_ones(field, value, valid) -> None:
    with pytest.raises(ConfigError, match=rf"{field} must .*{valid}"):
        TrainConfig(**{field: value})


def test_a_hand_built_split_cannot_be_refitted(tiny) -> None:
    with pytest.raises(DataError, match="numeric_preprocessing='quantile'.*training.prepare"):
        train(TrainConfig(numeric_preprocessing="quantile"), tiny, device="cpu")
    # Elements that do not refit preprocessing work on any split.
    assert train(TrainConfig(num_embedding="periodic", **FAST), tiny, device="cpu").status == "ok"


def test_embedding_model_shape() -> None:
    config = TrainConfig(num_embedding="periodic", embedding_dim=4, n_layers=1, width=8)
    model = build_model(config, 6, 2, n_numeric=3, cardinalities=(5, 7))
    # 3 numeric x 4 + 1 plain column + 2 codes x 4 = 21 inputs to the first hidden layer
    assert model[1].in_features == 21
    x = torch.cat([torch.randn(10, 4), torch.randint(0, 5, (10, 2)).float()], dim=1)
    assert model(x).shape == (10, 2)


def test_ensemble_trains_members_apart_and_predicts_their_mean() -> None:
    config = TrainConfig(ensemble_size=3, n_layers=1, width=8)
    model = build_model(config, 5, 4)
    x = torch.randn(6, 5)
    members = model.train()(x)
    assert members.shape == (6, 3, 4)  # one output per member while training
    assert not torch.allclose(members[:, 0], members[:, 1])  # members differ from the start
    mean_proba = torch.softmax(members, dim=2).mean(1)
    with torch.no_grad():
        ensemble = model.eval()(x)
    assert torch.allclose(torch.softmax(ensemble, dim=1), mean_proba, atol=1e-6)
    regression = build_model(config, 5, 1).train()
    out = regression(x)
    assert torch.allclose(regression.eval()(x), out.mean(1), atol=1e-6)


def test_train_many_runs_recipe_configs_as_their_solo_run(clf_table) -> None:
    data = prepare(clf_table)
    configs = [
        TrainConfig(**FAST),
        TrainConfig(**FAST, num_embedding="periodic"),
        TrainConfig(**FAST, label_smoothing=0.1, numeric_preprocessing="robust"),
    ]
    many = train_many(configs, data, device="cpu", seed=2)
    for config, member in zip(configs[1:], many[1:], strict=True):
        solo = train(config, data, device="cpu", seed=2)
        assert dataclasses.replace(member, wall_seconds=0.0) == dataclasses.replace(
            solo, wall_seconds=0.0
        )


def test_changed_rows_are_not_refitted_from_stale_rows(clf_table) -> None:
    data = prepare(clf_table)
    both = dataclasses.replace(
        data,
        x_train=np.concatenate([data.x_train, data.x_val]),
        y_train=np.concatenate([data.y_train, data.y_val]),
    )
    with pytest.raises(DataError, match="call for_config before changing its rows"):
        for_config(both, TrainConfig(numeric_preprocessing="robust"))
