"""Grid search: the grid per parameter, exact cell counts under conditions, KB-ordered cells,
the size limit, and a real study."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hpo_common.errors import InputError
from recommender import Recommender
from recommender.learn import KBPrior
from recommender.search import GridSearcher, count_cells, enumerate_cells, grid_values
from recommender.space import Float, GridLevels, Int, SearchSpace, default_space

ROOT = Path(__file__).resolve().parents[3]
WINE = ROOT / "examples" / "wine.csv"

CONDITIONAL = SearchSpace.from_dict({"parameters": {
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
    "momentum": {"type": "float", "low": 0.5, "high": 0.9, "levels": 2,
                 "condition": {"optimizer": ["sgd", "rmsprop"]}},
    "nesterov": {"type": "bool", "condition": {"optimizer": ["sgd"]}},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True, "levels": 4},
    "weight_decay": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True, "p_zero": 0.5,
                     "levels": 1},
}})


def test_levels_are_evenly_spaced_on_the_parameters_scale():
    assert grid_values(Float(1e-4, 1e-1, log=True), GridLevels(levels=4)) == [
        1e-4, 1e-3, 1e-2, 1e-1]
    assert grid_values(Float(0.0, 0.5), GridLevels(levels=3)) == [0.0, 0.25, 0.5]
    assert grid_values(Int(16, 1024, power_of_two=True)) == [16, 128, 1024]  # default 3 levels
    assert grid_values(Int(1, 5), GridLevels(levels=10)) == [1, 2, 3, 4, 5]  # no duplicates
    assert grid_values(Float(1e-5, 1e-3, log=True, p_zero=0.5), GridLevels(levels=1)) == [
        0.0, pytest.approx(1e-4)]  # "off" plus the log-midpoint


def test_cells_respect_conditions_and_match_the_count():
    cells = enumerate_cells(CONDITIONAL)
    # sgd: 2 momenta x 2 nesterov; rmsprop: 2 momenta; adam: 1; times 4 rates x 2 decays
    assert count_cells(CONDITIONAL) == len(cells) == (4 + 2 + 1) * 4 * 2
    assert len({tuple(sorted(c.items())) for c in cells}) == len(cells)
    for cell in cells:
        CONDITIONAL.validate(cell)
    assert not any("momentum" in c for c in cells if c["optimizer"] == "adam")


def test_cells_come_best_predicted_first_and_end():
    class PreferLr:  # a prior that believes in learning rate 1e-2
        n_members = 2

        def predict_members(self, X):
            column = CONDITIONAL.names.index("learning_rate")
            return np.tile(-np.abs(X[:, column] + 2), (2, 1))

    searcher = GridSearcher(CONDITIONAL, prior=PreferLr())
    first = [searcher.ask() for _ in range(14)]
    assert all(math.isclose(c["learning_rate"], 1e-2) for c in first)
    assert np.all(np.diff(searcher.predicted) <= 0)
    rest = iter(searcher.ask, None)
    assert len(first) + len(list(rest)) == count_cells(CONDITIONAL)  # then None: grid done


def test_a_grid_over_the_limit_is_refused_with_its_size():
    with pytest.raises(InputError) as info:
        GridSearcher(default_space())
    message = str(info.value)
    assert f"the grid has {count_cells(default_space()):,} cells, more than the limit of 10,000"\
        in message
    assert "optimizer=5" in message and "--grid-limit" in message
    assert len(GridSearcher(CONDITIONAL, max_cells=56).cells) == 56
    with pytest.raises(InputError, match="56 cells, more than the limit of 55"):
        GridSearcher(CONDITIONAL, max_cells=55)


def test_grid_study_on_a_real_kb_tries_the_kb_best_cells_first(tmp_path):
    space = SearchSpace.from_dict({"parameters": {
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
        "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "log": True, "levels": 6},
    }})
    rec = Recommender(kb=tmp_path / "kb.duckdb", space=space)  # a new KB holds the seed runs
    study = rec.study(WINE, target="cultivar", strategy="grid")
    searcher = study.searcher
    assert isinstance(searcher, GridSearcher) and isinstance(searcher.prior, KBPrior)
    expected = list(searcher.cells)
    asked = [study.ask() for _ in range(3)]
    assert asked == expected[:3]
    # The KB's belief, not the enumeration order: no cell predicted better than the first.
    assert searcher.predicted[0] == searcher.predicted.max() > searcher.predicted.min()
    assert {c["learning_rate"] for c in searcher.cells} | {c["learning_rate"] for c in asked} == {
        1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0}  # log-spaced levels, printed as written
