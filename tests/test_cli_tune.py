"""`hpo-recommend tune` in-process: JSON on stdout, a summary table, --refit, --resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from knowledge_base import KnowledgeBase
from recommender.cli import app

ROOT = Path(__file__).resolve().parents[1]
WINE = str(ROOT / "examples" / "wine.csv")
SPACE = str(ROOT / "tests" / "recommender" / "data" / "tiny_space.toml")


def test_tune_json_refit_and_resume(tmp_path):
    kb = str(tmp_path / "kb.duckdb")
    args = ["tune", WINE, "--space", SPACE, "--kb", kb, "--pruner", "none"]
    result = CliRunner().invoke(
        app, [*args, "--budget", "2", "--refit", "--out", str(tmp_path / "out"), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "finished" and len(payload["trials"]) == 2
    assert payload["objective"] == "log_loss" and payload["best_value"] > 0
    assert payload["task"] == "multiclass" and "target_transform" in payload["best_config"]
    assert Path(payload["checkpoint"]).is_file()

    # Resuming a finished study with its budget runs nothing more (a unique id prefix will do).
    again = CliRunner().invoke(app, [*args, "--resume", payload["study_id"][:8], "--json"])
    assert again.exit_code == 0, again.output
    assert len(json.loads(again.stdout)["trials"]) == 2
    # A new KB file starts with the shipped seed runs; the study added exactly its 2 trials.
    assert len(KnowledgeBase(kb).runs(study_id=payload["study_id"])) == 2
    assert len(KnowledgeBase(kb).runs(source="tune")) == 2


def test_tune_prints_a_summary_table(tmp_path):
    result = CliRunner().invoke(
        app, ["tune", WINE, "--space", SPACE, "--kb", str(tmp_path / "kb.duckdb"),
              "--budget", "1", "--strategy", "random"],
    )
    assert result.exit_code == 0, result.output
    assert "best score" in result.stdout and "study id" in result.stdout
    # wine is multiclass: the table shows what trained it, not the regression-only settings
    assert "label_smoothing" in result.stdout and "target_transform" not in result.stdout
    assert "tune: trial 1/1" in result.stderr  # stderr is not a terminal: plain progress lines


def test_tune_user_errors_are_one_line_with_exit_2(tmp_path):
    kb = ["--kb", str(tmp_path / "kb.duckdb")]
    cases = [
        (["tune", str(tmp_path / "missing.csv"), *kb], "missing.csv"),
        (["tune", WINE, *kb, "--strategy", "genetic"], "strategy must be one of"),
        (["tune", WINE, *kb, "--refit"], "--out"),
        (["tune", WINE, *kb, "--pruner", "sometimes"], "pruner must be one of"),
        (["tune", WINE, *kb, "--resume", "nope"], "nope"),
        (["tune", WINE, *kb, "--batch", "0"], "--batch"),
    ]
    for argv, message in cases:
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2, (argv, result.output)
        assert message in result.stderr and "Traceback" not in result.output


def test_tune_grid_strategy_runs_a_grid_and_refuses_one_over_the_limit(tmp_path):
    space = tmp_path / "grid.toml"
    space.write_text('[parameters.learning_rate]\ntype = "float"\nlow = 1e-3\nhigh = 1e-1\n'
                     'log = true\nlevels = 3\n\n[parameters.width]\ntype = "int"\nlow = 8\n'
                     'high = 32\ngrid = [8, 32]\n')
    kb = ["--kb", str(tmp_path / "kb.duckdb")]
    base = ["tune", WINE, "--space", str(space), *kb, "--strategy", "grid", "--pruner", "none",
            "--max-epochs", "3"]
    result = CliRunner().invoke(app, [*base, "--budget", "10", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["trials"]) == 6  # the whole 3 x 2 grid, then nothing new: done early
    runs = KnowledgeBase(tmp_path / "kb.duckdb").runs(study_id=payload["study_id"])
    assert sorted(zip(runs["learning_rate"], runs["width"], strict=True)) == [
        (lr, w) for lr in (1e-3, 1e-2, 1e-1) for w in (8, 32)]

    too_big = CliRunner().invoke(app, [*base, "--grid-limit", "5"])
    assert too_big.exit_code == 2
    assert "the grid has 6 cells, more than the limit of 5" in too_big.stderr
    assert "Traceback" not in too_big.output


def test_tune_pbt_strategy_trains_populations_and_stores_their_schedules(tmp_path):
    space = tmp_path / "pbt.toml"
    space.write_text('[parameters.learning_rate]\ntype = "float"\nlow = 1e-4\nhigh = 0.3\n'
                     'log = true\n\n[parameters.dropout]\ntype = "float"\nlow = 0.0\n'
                     'high = 0.5\n\n[parameters.width]\ntype = "int"\nlow = 8\nhigh = 32\n')
    kb = tmp_path / "kb.duckdb"
    result = CliRunner().invoke(app, [
        "tune", WINE, "--space", str(space), "--kb", str(kb), "--strategy", "pbt",
        "--pruner", "none", "--max-epochs", "8", "--budget", "6", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "finished" and len(payload["trials"]) == 6
    runs = KnowledgeBase(kb).runs(study_id=payload["study_id"])
    schedules = [json.loads(extra)["pbt_schedule"] for extra in runs["config_extra"]]
    assert all(s[0]["epoch"] == 1 for s in schedules)
    assert any(step["epoch"] == 5 and step["copied_from"] in set(runs["id"])
               for s in schedules for step in s[1:])  # the exploit after epoch 4

    ray = CliRunner().invoke(app, ["tune", WINE, "--space", str(space), "--kb", str(kb),
                                   "--strategy", "pbt", "--executor", "ray"])
    assert ray.exit_code == 2 and "pbt strategy trains each population in one process" in (
        ray.stderr) and "Traceback" not in ray.output
