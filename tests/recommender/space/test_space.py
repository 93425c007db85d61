from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hpo_common.errors import SpaceError
from recommender.space import (
    Bool,
    Categorical,
    Condition,
    Float,
    Int,
    SearchSpace,
    default_space,
    load_space,
)
from training import TrainConfig

SMALL_TOML = """
[parameters.optimizer]
type = "categorical"
choices = ["sgd", "adam"]

[parameters.learning_rate]
type = "float"
low = 1e-4
high = 0.1
log = true

[parameters.momentum]
type = "float"
low = 0.5
high = 0.99
condition = { optimizer = ["sgd"] }

[parameters.batch_size]
type = "int"
low = 32
high = 256
power_of_two = true
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_space_samples_are_valid_train_configs() -> None:
    space = default_space()
    assert set(space.names) <= set(TrainConfig.field_names())
    configs = space.sample(500, rng=0)
    for config in configs:
        TrainConfig.from_dict(config)
        space.validate(config)
    optimizers = {c["optimizer"] for c in configs}
    assert optimizers == {"sgd", "adam", "adamw", "rmsprop", "adagrad"}


def test_default_space_conditions_are_respected() -> None:
    for config in default_space().sample(500, rng=1, method="sobol"):
        opt = config["optimizer"]
        assert ("momentum" in config) == (opt in ("sgd", "rmsprop"))
        assert ("nesterov" in config) == (opt == "sgd")
        assert ("beta1" in config) == ("beta2" in config) == (opt in ("adam", "adamw"))


def test_default_space_ranges() -> None:
    configs = default_space().sample(2000, rng=2)
    sizes = {c["batch_size"] for c in configs}
    assert sizes == {16, 32, 64, 128, 256, 512, 1024}
    assert all(1e-5 <= c["learning_rate"] <= 1.0 for c in configs)
    assert all(16 <= c["width"] <= 1024 and 1 <= c["n_layers"] <= 5 for c in configs)
    zero_decay = np.mean([c["weight_decay"] == 0 for c in configs])
    assert 0.2 < zero_decay < 0.3  # p_zero = 0.25
    nonzero = [c["weight_decay"] for c in configs if c["weight_decay"] > 0]
    assert min(nonzero) >= 1e-7 and max(nonzero) <= 1e-2


def test_sobol_is_deterministic_with_a_seed_and_covers_the_space() -> None:
    space = default_space()
    a = space.sample(64, rng=7, method="sobol")
    assert a == space.sample(64, rng=7, method="sobol")
    assert a != space.sample(64, rng=8, method="sobol")
    # Space-filling: each eighth of the log learning-rate range holds 64/8 points exactly.
    lr = np.log10([c["learning_rate"] for c in a])
    counts = np.histogram(lr, bins=8, range=(-5, 0))[0]
    assert counts.tolist() == [8] * 8


def test_sample_values_are_plain_python_types() -> None:
    config = default_space().sample(1, rng=3)[0]
    json.dumps(config)
    assert type(config["batch_size"]) is int and type(config["batch_norm"]) is bool


def test_encode_shape_codes_and_nan_for_inactive() -> None:
    space = SearchSpace(
        {
            "optimizer": Categorical(("sgd", "adam")),
            "learning_rate": Float(1e-4, 0.1, log=True),
            "momentum": Float(0.5, 0.99),
            "batch_size": Int(32, 256, power_of_two=True),
            "weight_decay": Float(1e-6, 1e-2, log=True, p_zero=0.5),
        },
        {"momentum": Condition("optimizer", ("sgd",))},
    )
    configs = [
        {
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "momentum": 0.9,
            "batch_size": 64,
            "weight_decay": 0.0,
        },
        # a full TrainConfig dict: momentum is present but inactive for adam
        TrainConfig(
            optimizer="adam", learning_rate=1e-3, batch_size=128, weight_decay=1e-4
        ).to_dict(),
    ]
    matrix = space.encode(configs)
    assert matrix.shape == (2, 5)
    assert space.encoded_names == space.names
    assert space.categorical_indices == (0,)
    np.testing.assert_allclose(matrix[0], [0, -2, 0.9, np.log10(64), -7])
    np.testing.assert_allclose(matrix[1, [0, 1, 3, 4]], [1, -3, np.log10(128), -4])
    assert np.isnan(matrix[1, 2])
    frame_matrix = space.encode(pd.DataFrame(configs))
    np.testing.assert_array_equal(matrix, frame_matrix)
    assert space.encode([]).shape == (0, 5)


def test_default_space_encode_marks_inactive_as_nan() -> None:
    space = default_space()
    configs = space.sample(200, rng=4)
    matrix = space.encode(configs)
    assert matrix.shape == (200, len(space.names))
    momentum = space.names.index("momentum")
    has = np.array(["momentum" in c for c in configs])
    assert np.isnan(matrix[~has, momentum]).all()
    assert not np.isnan(matrix[has, momentum]).any()


def test_json_round_trip_and_file_formats(tmp_path: Path) -> None:
    space = default_space()
    assert SearchSpace.from_json(space.to_json()) == space
    json_path = _write(tmp_path, "space.json", space.to_json())
    assert load_space(json_path) == space
    toml_space = load_space(_write(tmp_path, "small.toml", SMALL_TOML))
    assert toml_space.names == ("optimizer", "learning_rate", "momentum", "batch_size")
    assert toml_space.conditions["momentum"] == Condition("optimizer", ("sgd",))


def test_yaml_is_read_when_pyyaml_is_installed_else_explained(tmp_path: Path) -> None:
    text = "parameters:\n  dropout:\n    type: float\n    low: 0.0\n    high: 0.5\n"
    path = _write(tmp_path, "space.yaml", text)
    try:
        import yaml  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(SpaceError, match=r"space\.yaml: reading YAML needs PyYAML"):
            load_space(path)
    else:
        assert load_space(path).parameters["dropout"] == Float(0.0, 0.5)


def test_validate_names_the_parameter_value_and_range() -> None:
    space = default_space()
    good = space.sample(1, rng=5)[0]
    with pytest.raises(
        SpaceError, match=r"'learning_rate' must be a number in \[1e-05, 1.0\], but got 5"
    ):
        space.validate({**good, "learning_rate": 5})
    with pytest.raises(
        SpaceError,
        match=r"'batch_size' must be an integer in \[16, 1024\] that is a power of two, but got 1",
    ):
        space.validate({**good, "batch_size": 100})
    with pytest.raises(SpaceError, match="unknown parameter"):
        space.validate({**good, "colour": "red"})
    with pytest.raises(SpaceError, match="'activation' is missing"):
        space.validate({k: v for k, v in good.items() if k != "activation"})
    adam = {
        **{k: v for k, v in good.items() if k not in ("momentum", "nesterov")},
        "optimizer": "adam",
        "beta1": 0.9,
        "beta2": 0.999,
    }
    space.validate(adam)
    with pytest.raises(
        SpaceError,
        match="'momentum' is only active when optimizer is one of 'sgd', 'rmsprop', but got optim",
    ):
        space.validate({**adam, "momentum": 0.9})
    assert space.contains(adam) and not space.contains({**adam, "dropout": 0.9})
    assert space.project(TrainConfig.from_dict(adam).to_dict()) == adam


def test_neighbors_stay_valid_and_near() -> None:
    space = default_space()
    base = space.sample(1, rng=6)[0]
    near = space.neighbors(base, rng=0, n=50, scale=0.05)
    assert len(near) == 50
    for config in near:
        space.validate(config)
        TrainConfig.from_dict(config)
    changed = [c for c in near if c != base]
    assert changed
    lr_moves = [abs(np.log10(c["learning_rate"] / base["learning_rate"])) for c in near]
    assert np.median(lr_moves) < 0.5  # 0.05 of a 5-decade range is 0.25 decades
    assert space.neighbors(base, rng=3, n=5) == space.neighbors(base, rng=3, n=5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Float(1.0, 0.5), r"`low <= high` must hold, but got \(low=1.0, high=0.5\)"),
        (
            lambda: Float(0.0, 1.0, log=True),
            r"`low > 0` must hold for a log scale, but got \(low=0.0",
        ),
        (lambda: Int(5, 2), r"`low <= high` must hold, but got \(low=5, high=2\)"),
        (lambda: Int(1, 2.5), r"`high` must be an integer, but got 2.5"),
        (lambda: Int(16, 1000, power_of_two=True), r"`high` must be a power of two"),
        (lambda: Float(0.0, 1.0, p_zero=1.0), r"`0 <= p_zero < 1` must hold"),
        (lambda: Categorical(()), r"`choices` must not be empty"),
        (lambda: Categorical(("a", "a")), r"`choices` must be unique"),
        (lambda: Float(0.0, float("inf")), r"`high` must be a finite number"),
    ],
)
def test_malformed_domains_state_the_rule(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpaceError, match=message):
        make()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"dropout": {"type": "float", "low": 0.6, "high": 0.5}},
            r"parameter 'dropout': `low <= high` must hold, but got \(low=0.6, high=0.5\)",
        ),
        (
            {"learning_rate": {"type": "float", "low": 0.0, "high": 1.0, "log": True}},
            r"parameter 'learning_rate': `low > 0` must hold for a log scale",
        ),
        (
            {"optimizer": {"type": "categorical", "choices": []}},
            r"parameter 'optimizer': `choices` must not be empty",
        ),
        (
            {
                "momentum": {
                    "type": "float",
                    "low": 0.5,
                    "high": 0.9,
                    "condition": {"optimizer": ["sgd"]},
                }
            },
            r"condition of 'momentum': parent 'optimizer' is not a parameter of this space",
        ),
        (
            {
                "optimizer": {"type": "categorical", "choices": ["sgd"]},
                "momentum": {
                    "type": "float",
                    "low": 0.5,
                    "high": 0.9,
                    "condition": {"optimizer": ["lion"]},
                },
            },
            r"condition of 'momentum': 'lion' is not a value of 'optimizer'",
        ),
        ({"dropout": {"type": "real", "low": 0, "high": 1}}, r"`type` must be one of float, int"),
        ({"dropout": {"type": "float", "lo": 0, "high": 0.5}}, r"unknown key\(s\) lo for a float"),
        ({"dropout": {"type": "float", "high": 0.5}}, r"missing key\(s\) low for a float"),
        (
            {
                "batch_norm": {"type": "bool", "condition": {"nesterov": [True]}},
                "nesterov": {"type": "bool", "condition": {"batch_norm": [True]}},
            },
            r"conditions form a cycle",
        ),
    ],
)
def test_malformed_spaces_name_file_parameter_and_rule(
    tmp_path: Path, parameters: dict, message: str
) -> None:
    path = _write(tmp_path, "bad.json", json.dumps({"parameters": parameters}))
    with pytest.raises(SpaceError, match=message) as info:
        load_space(path)
    assert str(path) in str(info.value)


def test_bad_extension_and_bad_toml_name_the_file(tmp_path: Path) -> None:
    txt = _write(tmp_path, "space.txt", SMALL_TOML)
    with pytest.raises(SpaceError, match=r"space\.txt: unsupported space file extension '\.txt'"):
        load_space(txt)
    broken = _write(tmp_path, "broken.toml", "[parameters.dropout\ntype = float\n")
    with pytest.raises(SpaceError, match=r"broken\.toml: not valid TOML"):
        load_space(broken)
    with pytest.raises(SpaceError, match=r"missing\.toml: space file does not exist"):
        load_space(tmp_path / "missing.toml")
    with pytest.raises(SpaceError, match=r"bad\.json: not valid JSON"):
        load_space(_write(tmp_path, "bad.json", "{"))


def test_bool_parameters_and_sampling_arguments() -> None:
    space = SearchSpace({"batch_norm": Bool(), "dropout": Float(0.0, 0.5)})
    values = {c["batch_norm"] for c in space.sample(50, rng=0)}
    assert values == {False, True}
    with pytest.raises(SpaceError, match="method must be 'random' or 'sobol', but got 'grid'"):
        space.sample(3, method="grid")
    with pytest.raises(SpaceError, match="n must be an integer >= 0"):
        space.sample(-1)
