"""The surrogate's members predict through LightGBM's C API exactly as LightGBM's own `predict`,
and a cached surrogate loads without scikit-learn or LightGBM's Python package."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from recommender import _cores
from recommender.learn import Surrogate
from recommender.learn._boosters import Boosters

ROOT = Path(__file__).resolve().parents[3]


def _fitted() -> tuple[Surrogate, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 4))
    X[rng.random(X.shape) < 0.1] = np.nan  # inactive parameters are NaN in the encoding
    X[:, 3] = rng.integers(0, 3, 300)  # a categorical column
    y = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) ** 2 + (X[:, 3] == 1)
    model = Surrogate(n_models=3, n_estimators=40).fit(
        X, y, np.repeat(np.arange(6), 50), categorical=[3]
    )
    return model, X


def test_members_predict_as_lightgbm_itself_to_the_bit() -> None:
    model, X = _fitted()
    own = np.stack(
        [lgb.Booster(model_str=text).predict(X, num_threads=1) for text in model.boosters_.models]
    )
    np.testing.assert_array_equal(model.predict_members(X), own)
    np.testing.assert_array_equal(model.predict_members(X, members=2), own[:2])
    assert model.predict_members(X[:0]).shape == (3, 0)


def test_boosters_predict_alike_side_by_side_and_on_one_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, X = _fitted()  # 300 rows: enough for the boosters to predict side by side
    side_by_side = model.predict_members(X)
    in_chunks = np.hstack(
        [model.predict_members(X[start : start + 50]) for start in range(0, 300, 50)]
    )
    np.testing.assert_array_equal(side_by_side, in_chunks)
    monkeypatch.setattr(_cores, "usable_cores", lambda: 1)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_members(X), in_chunks)


def test_pickled_surrogate_predicts_the_same() -> None:
    model, X = _fitted()
    model.predict(X)  # loaded into LightGBM: the handles must not be pickled
    copy = pickle.loads(pickle.dumps(model))
    assert copy.boosters_._handles is None
    np.testing.assert_array_equal(copy.predict_members(X), model.predict_members(X))


def test_a_bad_model_text_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="LightGBM: "):
        Boosters(["not a model"]).predict(np.zeros((1, 2)))
    model, X = _fitted()
    mixed = Boosters([*model.boosters_.models, "not a model"])
    with pytest.raises(RuntimeError, match="LightGBM: .*"):
        mixed.predict(X)
    assert mixed._handles is None  # the boosters that did load are freed


def test_unpickling_loads_neither_sklearn_nor_lightgbm(tmp_path: Path) -> None:
    model, X = _fitted()
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(model))
    np.save(tmp_path / "X.npy", X)
    model_file, x_file, out_file = (str(tmp_path / name) for name in ("m.pkl", "X.npy", "p.npy"))
    probe = (
        "import pickle, sys, numpy as np; "
        f"m = pickle.load(open({model_file!r}, 'rb')); "
        f"np.save({out_file!r}, m.predict_members(np.load({x_file!r}))); "
        "print(sorted(n for n in ('sklearn', 'lightgbm', 'scipy') if n in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict_members(X))
