from __future__ import annotations

from pathlib import Path

import pytest

from hpo_common.errors import ConfigError
from recommender.cli.train import config_from


def test_config_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "cfg.json"
    path.write_text('{"optimizer": "sgd", "learning_rate": 0.1, "width": 32}')
    cfg = config_from(path, ["learning_rate=0.05", "batch_norm=true"])
    assert (cfg.optimizer, cfg.learning_rate, cfg.width, cfg.batch_norm) == ("sgd", 0.05, 32, True)


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        config_from(tmp_path / "missing.json", [])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json: config is not valid JSON"):
        config_from(bad, [])
    with pytest.raises(ConfigError, match="unknown hyperparameter"):
        config_from(None, ["widht=3"])
