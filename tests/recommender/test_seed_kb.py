"""The shipped seed knowledge base: what a fresh install learns from."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from benchmarks._seed_kb import FIRST_SEED_KB
from hpo_common.errors import InputError
from recommender._kb import SEED_KB_DIR, SEED_KB_ENV, open_kb
from recommender.cli import app
from recommender.learn import META_FEATURE_NAMES, KBView
from recommender.space import default_space
from training.config import TrainConfig, in_effect

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_new_kb_file_gets_the_seed_runs_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(SEED_KB_ENV)  # the shipped seed, as a user gets it
    manifest = json.loads((SEED_KB_DIR / "manifest.json").read_text())
    kb = open_kb(tmp_path / "kb.duckdb")
    runs = kb.runs(columns=("id", "dataset_id", "source"))
    assert len(runs) == manifest["rows"]["runs"] >= 10_000  # the wide build, as far as it came
    assert runs["dataset_id"].nunique() >= 180 and set(runs["source"]) == {"seed"}
    assert len(kb.meta_features()) == manifest["rows"]["datasets"]
    again = open_kb(tmp_path / "kb.duckdb")  # an existing file is not seeded again
    assert len(again.runs(columns=("id",))) == len(runs)


def test_the_seed_can_be_a_teams_own_export_or_none(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(SEED_KB_ENV, "")
    assert open_kb(tmp_path / "none.duckdb").stats()["runs"] == 0
    monkeypatch.setenv(SEED_KB_ENV, str(tmp_path))  # no export there
    with pytest.raises(InputError, match=f"{SEED_KB_ENV}=.*manifest.json"):
        open_kb(tmp_path / "bad.duckdb")
    assert not (tmp_path / "bad.duckdb").exists()  # refused before a file was made
    monkeypatch.setenv(SEED_KB_ENV, str(FIRST_SEED_KB))  # any KB export, e.g. a team's own
    assert open_kb(tmp_path / "first.duckdb").stats()["runs"] == 2480


def test_suggest_on_a_fresh_install_learns_from_the_seed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(SEED_KB_ENV)
    result = CliRunner().invoke(
        app,
        [
            "suggest",
            str(EXAMPLES / "breast_cancer.csv"),
            "--target",
            "diagnosis",
            "--kb",
            str(tmp_path / "kb.duckdb"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    suggestions = payload["suggestions"]
    assert len(suggestions) == 5
    assert all(s["predicted_score"] is not None for s in suggestions)  # not the default ranking
    assert len(payload["similar_datasets"]) == 3
    # The seed's runs train 20 to 200 epochs and vary the recipe: suggestions choose both.
    assert any(s["config"]["max_epochs"] > 20 for s in suggestions)
    assert not any("max_epochs=20" in note for note in payload["notes"])
    assert not any("suggestions keep these values" in note for note in payload["notes"])
    # The table shows every hyperparameter a suggestion sets, in effect, away from the default.
    table = CliRunner().invoke(
        app, ["suggest", str(EXAMPLES / "breast_cancer.csv"), "--target", "diagnosis",
              "--kb", str(tmp_path / "kb.duckdb")],
    ).stdout  # fmt: skip
    defaults = TrainConfig().to_dict()
    changed = {name for s in suggestions for name in in_effect(s["config"], "binary")
               if s["config"][name] != defaults[name]}  # fmt: skip
    assert {"ensemble_size", "num_embedding"} & changed  # the wide seed's recipe elements
    assert all(f"│ {name} " in table for name in changed), changed


def test_the_first_seed_kept_training_length_and_recipe_fixed(tmp_path: Path) -> None:
    """The tests' seed (`tests/conftest.py`): every run 20 epochs, the recipe at its defaults,
    so suggestions keep both and say why."""
    result = CliRunner().invoke(
        app,
        ["suggest", str(EXAMPLES / "breast_cancer.csv"), "--target", "diagnosis",
         "--kb", str(tmp_path / "kb.duckdb"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {s["config"]["max_epochs"] for s in payload["suggestions"]} == {20}
    assert any("max_epochs=20" in note for note in payload["notes"])
    kept = [note for note in payload["notes"] if "suggestions keep these values" in note]
    assert len(kept) == 1
    assert "numeric_preprocessing=standard" in kept[0] and "target_transform" not in kept[0]


def _view(n_datasets: int) -> KBView:
    rows = [
        {
            "dataset_id": f"d{d}",
            "optimizer": opt,
            "momentum": 0.9 if opt == "sgd" else None,
            "width": 64,
            "learning_rate": 10.0 ** -(1 + i),
            "max_epochs": 20,
        }
        for d in range(n_datasets)
        for i, opt in enumerate(["sgd", "adam", "sgd"])
    ]
    meta = pd.DataFrame(
        0.0, index=[f"d{d}" for d in range(n_datasets)], columns=list(META_FEATURE_NAMES)
    )
    return KBView(runs=pd.DataFrame(rows), meta=meta)


def test_shared_settings_are_unconditional_values_every_run_shares() -> None:
    space = default_space()
    # optimizer and learning_rate vary; momentum is conditional (on optimizer), so never fixed;
    # max_epochs is a budget: kept to the lengths the runs reached (`trained_space`) instead.
    assert _view(5).shared_settings(space) == {"width": 64}
    assert _view(5).trained_range() == (20, 20)
    assert _view(4).shared_settings(space) == {}  # too few datasets to call it a design choice


def test_counting_one_task_leaves_the_learnable_runs_alone() -> None:
    view = _view(6)
    view.runs["task"] = ["binary", "regression", "binary"] * 6
    assert view.learnable_runs("regression") == 6
    assert view.learnable_runs() == 18 and int(view.learnable.sum()) == 18
