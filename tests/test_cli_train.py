"""`hpo-recommend train` / `lr-find` in-process on a shipped example (needs the table loader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import training
from recommender.cli import app

pytestmark = pytest.mark.skipif(
    not hasattr(training, "load_table"), reason="training.load_table (tables helper) not merged yet"
)
CANCER = str(Path(__file__).resolve().parents[1] / "examples" / "breast_cancer.csv")
FAST = ["--set", "max_epochs=3", "--set", "width=32"]


def test_train_json_reports_all_metrics() -> None:
    result = CliRunner().invoke(app, ["train", CANCER, "--target", "diagnosis", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok" and payload["objective"] == "log_loss"
    assert set(payload["metrics"]) == {"log_loss", "accuracy", "balanced_accuracy", "roc_auc"}
    assert payload["metrics"]["accuracy"] > 0.8 and len(payload["curve"]) == 3


def test_train_cv_json_has_every_fold() -> None:
    args = ["train", CANCER, "--target", "diagnosis", *FAST, "--cv", "3", "--metric", "accuracy"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["folds"]) == 3 and payload["mean"] > 0.8


def test_train_table_output() -> None:
    result = CliRunner().invoke(app, ["train", CANCER, "--target", "diagnosis", *FAST])
    assert result.exit_code == 0, result.output
    assert "roc_auc" in result.stdout and "best epoch" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "dropout=2"], "dropout must be"),
        (["--set", "dropout"], "--set expects key=value"),
        (["--metric", "r2"], "must be one of log_loss"),
    ],
)
def test_bad_values_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["train", CANCER, "--target", "diagnosis", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_lr_find_prints_suggestion_and_plots(tmp_path: Path) -> None:
    plot = tmp_path / "lr.png"
    args = ["lr-find", CANCER, "--target", "diagnosis", "--steps", "40", "--plot", str(plot)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["suggested_lr"] > 0 and plot.stat().st_size > 1000
