"""Small real datasets as `PreparedData`, built with scikit-learn (not with the table loader)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, make_classification, make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from training import PreparedData, TrainConfig, load_table, prepare
from training.config import LR_SCHEDULES


def prepared(x: np.ndarray, y: np.ndarray, task: str, n_classes: int) -> PreparedData:
    stratify = None if task == "regression" else y
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=stratify
    )
    scaler = StandardScaler().fit(x_tr)
    y_dtype = np.float32 if task == "regression" else np.int64
    return PreparedData(
        x_train=scaler.transform(x_tr).astype(np.float32),
        y_train=y_tr.astype(y_dtype),
        x_val=scaler.transform(x_va).astype(np.float32),
        y_val=y_va.astype(y_dtype),
        task=task,
        n_classes=n_classes,
    )


@pytest.fixture(scope="session")
def cancer() -> PreparedData:
    x, y = load_breast_cancer(return_X_y=True)
    return prepared(x, y, "binary", 2)


@pytest.fixture(scope="session")
def regression() -> PreparedData:
    x, y = make_regression(n_samples=400, n_features=8, noise=10.0, random_state=0)
    return prepared(x, y * 50 + 1000, "regression", 1)  # far from 0/1 units on purpose


@pytest.fixture(scope="session")
def multiclass() -> PreparedData:
    x, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return prepared(x, y, "multiclass", 3)


@pytest.fixture(scope="session")
def tiny() -> PreparedData:
    x, y = make_classification(n_samples=120, n_features=5, random_state=0)
    return prepared(x, y, "binary", 2)


def _table_with_categories(task: str, many_categories: bool = False) -> PreparedData:
    """A `prepare`d table (so recipes can be refitted): skewed numeric columns and a
    categorical one, from scikit-learn's generators."""
    rng = np.random.default_rng(0)
    if task == "regression":
        x, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
        y = y * 30 + 500
    else:
        x, y = make_classification(n_samples=200, n_features=4, random_state=0)
    frame = pd.DataFrame(np.exp(x), columns=[f"x{i}" for i in range(4)])  # skewed: robust differs
    levels = 40 if many_categories else 3  # more than max_categories: embedded
    frame["colour"] = rng.choice([f"c{i}" for i in range(levels)], size=len(frame))
    frame["y"] = y
    return prepare(load_table(frame, target="y", task=task))


@pytest.fixture(scope="session")
def table_with_categories() -> Callable[..., PreparedData]:
    """`_table_with_categories(task, many_categories=False)`, for the recipe tests."""
    return _table_with_categories


def _every_schedule(optimizer: str) -> list[TrainConfig]:
    """One configuration of `optimizer` per learning-rate schedule, all in one stacked group:
    mixed widths (padded to 28), learning rates, warm-up, weight decay and clipping per member."""
    return [
        TrainConfig(
            optimizer=optimizer,
            lr_schedule=schedule,
            max_epochs=3,
            patience=0,
            width=(25, 27, 28)[i % 3],
            learning_rate=(3e-3, 1e-2)[i % 2],
            warmup_epochs=i % 2,
            weight_decay=(0.0, 1e-3)[i % 2],
            grad_clip=(0.0, 0.3)[i % 2],
            batch_size=32,
        )
        for i, schedule in enumerate(LR_SCHEDULES)
    ]


@pytest.fixture(scope="session")
def every_schedule() -> Callable[[str], list[TrainConfig]]:
    """`_every_schedule(optimizer)`, for the tests of stacked members against solo runs."""
    return _every_schedule
