"""The built-in trainer's rules on a space; a black-box space may name anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpo_common.errors import SpaceError
from recommender.space import Float, Int, SearchSpace, cap_epochs, check_trainable, load_space


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"colour": {"type": "categorical", "choices": ["red"]}}, r"unknown parameter 'colour'"),
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 1.5}},
            r"'dropout' can take 1.5, which TrainConfig rejects: dropout must be >= 0.0 and < 1.0",
        ),
        (
            {"batch_size": {"type": "float", "low": 16, "high": 64}},
            r"a float domain cannot feed TrainConfig.batch_size, which is int",
        ),
        (
            {"optimizer": {"type": "categorical", "choices": ["sgd", "lion"]}},
            r"'optimizer' can take 'lion', which TrainConfig rejects",
        ),
        (
            {"nesterov": {"type": "bool"}},
            r"'nesterov' can take True, which TrainConfig rejects: nesterov=True needs optimizer=",
        ),
    ],
)
def test_spaces_the_trainer_rejects_name_file_parameter_and_rule(
    tmp_path: Path, parameters: dict, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"parameters": parameters}), encoding="utf-8")
    space = load_space(path)  # any names and values make a space ...
    with pytest.raises(SpaceError, match=message) as info:
        check_trainable(space, source=str(path))  # ... but not one the trainer accepts
    assert str(path) in str(info.value)


def test_a_blackbox_space_may_name_any_parameter() -> None:
    space = SearchSpace({"width": Int(1, 8), "colour_weight": Float(0.0, 2.0)})
    assert space.names == ("width", "colour_weight")
    with pytest.raises(SpaceError, match=r"search space: unknown parameter 'colour_weight'"):
        check_trainable(space)


def test_cap_epochs_limits_or_fixes_max_epochs() -> None:
    space = SearchSpace({"max_epochs": Int(10, 200, log=True), "dropout": Float(0.0, 0.5)})
    assert cap_epochs(space, None) is space
    assert cap_epochs(space, 50).parameters["max_epochs"] == Int(10, 50, log=True)
    assert cap_epochs(space, 5).parameters["max_epochs"] == Int(5, 5)
    no_epochs = SearchSpace({"dropout": Float(0.0, 0.5)})
    assert cap_epochs(no_epochs, 7).parameters["max_epochs"] == Int(7, 7)
