from __future__ import annotations

import pytest

from hpo_common.errors import ConfigError
from training import TrainConfig
from training.config import applies_to, in_effect


def test_defaults_round_trip_through_json() -> None:
    cfg = TrainConfig(optimizer="sgd", learning_rate=0.05, nesterov=True, lr_schedule="cosine")
    assert TrainConfig.from_json(cfg.to_json()) == cfg


def test_strings_from_csv_are_coerced() -> None:
    cfg = TrainConfig.from_dict({"batch_size": "64", "learning_rate": "0.01", "batch_norm": "true"})
    assert (cfg.batch_size, cfg.learning_rate, cfg.batch_norm) == (64, 0.01, True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learning_rate": -1.0}, "learning_rate must be > 0.0 and <= 100.0, but got -1.0"),
        ({"dropout": 1.5}, "dropout must be >= 0.0 and < 1.0, but got 1.5"),
        ({"batch_size": 12.5}, "batch_size must be an integer, but got 12.5"),
        ({"batch_size": "many"}, "batch_size must be an integer, but got 'many'"),
        ({"optimizer": "lion"}, "optimizer must be one of sgd, adam, adamw, rmsprop, adagrad"),
        ({"batch_norm": "maybe"}, "batch_norm must be true or false"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
        ({"nesterov": True, "optimizer": "adam"}, "nesterov=True needs optimizer='sgd'"),
        ({"colour": "red"}, "unknown hyperparameter(s) colour"),
    ],
)
def test_invalid_values_name_field_value_and_rule(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        TrainConfig.from_dict(changes)
    assert message in str(info.value)


def test_task_fields_apply_only_to_their_tasks() -> None:
    assert applies_to("target_transform", "regression")
    assert not applies_to("target_transform", "binary")
    assert applies_to("label_smoothing", "multiclass") and not applies_to(
        "label_smoothing", "regression"
    )
    assert applies_to("learning_rate", "regression") and applies_to("learning_rate", "binary")


def test_in_effect_leaves_out_what_this_configuration_never_uses() -> None:
    adam = TrainConfig(optimizer="adam").to_dict()
    used = in_effect(adam, "binary")
    assert {"beta1", "beta2", "label_smoothing", "width"} <= set(used)
    assert not {"momentum", "nesterov", "embedding_dim", "target_transform"} & set(used)
    sgd = TrainConfig(optimizer="sgd", n_layers=0, categorical="embedding").to_dict()
    used = in_effect(sgd, "regression")
    assert {"momentum", "nesterov", "embedding_dim", "target_transform"} <= set(used)
    assert not {"beta1", "width", "dropout", "label_smoothing"} & set(used)
    assert in_effect(TrainConfig(optimizer="rmsprop").to_dict(), "multiclass").count("momentum")
