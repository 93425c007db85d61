"""`grid = [...]` / `levels = N` in space files: validation, JSON and TOML round trip."""

from __future__ import annotations

import pytest

from hpo_common.errors import SpaceError
from recommender.space import GridLevels, Int, SearchSpace, load_space

GRID_TOML = """
[parameters.optimizer]
type = "categorical"
choices = ["sgd", "adam", "adamw"]
grid = ["sgd", "adam"]

[parameters.learning_rate]
type = "float"
low = 1e-4
high = 1e-1
log = true
levels = 4

[parameters.batch_size]
type = "int"
low = 16
high = 1024
power_of_two = true
grid = [64, 256]
"""


def test_grid_keys_round_trip_through_toml_and_json(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(GRID_TOML)
    space = load_space(path)
    assert space.grids == {
        "optimizer": GridLevels(("sgd", "adam")),
        "learning_rate": GridLevels(levels=4),
        "batch_size": GridLevels((64, 256)),
    }
    spec = space.to_dict()["parameters"]
    assert spec["learning_rate"]["levels"] == 4 and spec["batch_size"]["grid"] == [64, 256]
    assert SearchSpace.from_json(space.to_json()) == space
    assert SearchSpace.from_json(space.to_json()) != SearchSpace(space.parameters)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("grid = [1e-5]", "grid value 1e-05 is outside the parameter: it must be a number in"),
        ("levels = 0", "`levels` must be an integer >= 1, but got 0"),
        ("levels = 2\ngrid = [0.01]", "either `grid = [...]` or `levels = N`, not both"),
        ("grid = []", "`grid` must be a non-empty list of values, but got []"),
        ("grid = [0.01, 0.01]", "`grid` values must be unique, but got [0.01, 0.01]"),
    ],
)
def test_bad_grid_settings_name_the_file_parameter_and_rule(tmp_path, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[parameters.learning_rate]\ntype = "float"\nlow = 1e-4\nhigh = 1e-1\n'
        f"log = true\n{extra}\n"
    )
    with pytest.raises(SpaceError) as info:
        load_space(path)
    assert str(info.value).startswith(f"{path}: parameter 'learning_rate': ")
    assert message in str(info.value)


def test_levels_on_a_categorical_points_to_grid():
    with pytest.raises(
        SpaceError,
        match=r"`levels` applies to int and float parameters; use "
        r"`grid = \[...\]`",
    ):
        SearchSpace.from_dict(
            {
                "parameters": {
                    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"], "levels": 2}
                }
            }
        )


def test_a_grid_for_a_missing_parameter_is_refused():
    with pytest.raises(SpaceError, match="grid of 'width': 'width' is not a parameter"):
        SearchSpace({"n_layers": Int(1, 3)}, grids={"width": GridLevels(levels=2)})
