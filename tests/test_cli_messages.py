"""Messages that never crash and never lie: user text shown literally, one `error:` line and exit
2 for every input error (usage errors included), warnings as notes, progress when piped."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from knowledge_base import KnowledgeBase
from recommender.cli import _Group, app

ROOT = Path(__file__).resolve().parents[1]
WINE = str(ROOT / "examples" / "wine.csv")
CANCER = str(ROOT / "examples" / "breast_cancer.csv")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_one_error_line(result, exit_code: int, *parts: str) -> None:
    """Exit code, one stderr line (`error: ...`, after any notes) holding `parts`, no
    traceback."""
    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(part in lines[0] for part in parts), lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def kb(tmp_path) -> str:
    """An empty knowledge base file (no seed runs): what the commands must leave unchanged."""
    return str(KnowledgeBase(tmp_path / "kb.duckdb").path)


def counts(kb: str) -> dict:
    stats = KnowledgeBase(kb).stats()
    return {name: stats[name] for name in ("datasets", "studies", "runs")}


# ---- user text is never markup ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["train", WINE, "--target", "[/bold]"], "'[/bold]'"),
        (["train", WINE, "--set", "optimizer=[/x]"], "[/x]"),
        (["suggest", WINE, "--target", "[red]nosuch"], "'[red]nosuch'"),
    ],
)
def test_user_text_with_brackets_is_shown_literally(args: list[str], shown: str, kb) -> None:
    kb_args = ["--kb", kb] if args[0] == "suggest" else []
    assert_one_error_line(run(*args, *kb_args), 2, shown)


def test_a_column_with_brackets_is_listed_whole(tmp_path) -> None:
    path = tmp_path / "brackets.csv"
    pd.DataFrame({"x": range(10), "cultivar [id]": [0, 1] * 5}).to_csv(path, index=False)
    assert_one_error_line(run("train", str(path), "--target", "nosuch"), 2, "'cultivar [id]'")


# ---- one "too small to split" rule --------------------------------------------------------------
@pytest.mark.parametrize("command", ["train", "tune", "lr-find", "suggest"])
def test_a_table_too_small_to_split_exits_2_everywhere(command: str, tmp_path, kb) -> None:
    path = tmp_path / "two.csv"
    pd.DataFrame({"a": [1.0, 2.0], "label": ["x", "y"]}).to_csv(path, index=False)
    kb_args = ["--kb", kb] if command in ("tune", "suggest") else []
    before = counts(kb)
    result = run(command, str(path), "--target", "label", *kb_args)
    assert_one_error_line(result, 2, "table 'two' has 2 rows", "needs at least 2")
    assert counts(kb) == before


# ---- usage errors are one line too --------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["tune", WINE, "--budget", "0"], "'--budget'"),
        (["suggest", WINE, "--top", "0"], "'--top'"),
        (["tune", WINE, "--workers", "0"], "'--workers'"),
        (["tune", WINE, "--timeout", "-1"], "'--timeout'"),
        (["train", WINE, "--seed", "-1"], "'--seed'"),
        (["kb", "runs", "--limit", "-1"], "'--limit'"),
        (["kb", "runs", "--no-such-option"], "--no-such-option"),
        (["train"], "Missing argument"),
        (["nosuch"], "nosuch"),
    ],
)
def test_usage_errors_are_one_error_line_with_exit_2(args: list[str], shown: str, kb) -> None:
    before = counts(kb)
    assert_one_error_line(run(*args), 2, shown, "--help")
    assert counts(kb) == before


def test_a_bare_group_still_prints_its_help() -> None:
    result = run("kb")
    assert "Usage:" in result.output and "studies" in result.output


def test_a_library_warning_becomes_one_note_line() -> None:
    demo = typer.Typer(cls=_Group)

    @demo.command()
    def noisy() -> None:
        warnings.warn("a library's own wording", UserWarning, stacklevel=1)

    @demo.command()
    def quiet() -> None:
        """Typer runs a lone command without its group: a second one keeps the group."""

    result = CliRunner().invoke(demo, ["noisy"])
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines() == ["note: a library's own wording"]


# ---- the knowledge base: unknown ids, studies, numbers ------------------------------------------
def test_kb_runs_with_an_unknown_dataset_says_so(kb) -> None:
    assert_one_error_line(run("kb", "runs", "--dataset", "nosuch", "--kb", kb), 2, "'nosuch'")


def test_report_latest_on_a_kb_without_studies_says_so(kb) -> None:
    assert_one_error_line(run("report", "latest", "--kb", kb), 2, "no studies yet")


def test_negative_zero_prints_as_zero(tmp_path) -> None:
    from knowledge_base import DatasetRecord, RunRecord

    store = KnowledgeBase(tmp_path / "kb.duckdb")
    store.add_dataset(DatasetRecord("fp0", "data0", "binary", 100, 5, 2))
    store.log_runs([RunRecord("fp0", {"optimizer": "adam"}, "log_loss", "minimize", -0.0)])
    result = run("kb", "runs", "--kb", str(store.path))
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "log_loss" in line)
    cells = [cell.strip() for cell in row.split("│")]
    assert "0" in cells and "-0" not in cells


# ---- notes instead of silence or raw warnings ---------------------------------------------------
def test_many_classes_and_mostly_numeric_columns_get_notes(tmp_path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60).round(3)})
    frame["b"] = frame["b"].astype(str)
    frame.loc[7, "b"] = "n/a?"
    frame["y"] = [f"c{i}" for i in range(20)] * 2 + [f"d{i}" for i in range(20)]
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    result = run("lr-find", str(path), "--target", "y", "--steps", "5", "--json")
    assert result.exit_code == 0, result.output
    assert "note: target 'y' has 40 classes in 60 rows" in result.stderr
    assert "note: column 'b' is numbers except 1 of 60 cells ('n/a?')" in result.stderr
    assert "Warning" not in result.stderr and "site-packages" not in result.stderr


# ---- progress when stderr is not a terminal -----------------------------------------------------
def test_train_and_lr_find_print_plain_progress_lines_when_piped() -> None:
    trained = run("train", CANCER, "--target", "diagnosis", "--set", "max_epochs=3", "--json")
    assert trained.exit_code == 0, trained.output
    assert "train: epoch 1/3" in trained.stderr and "train: epoch 3/3" in trained.stderr
    swept = run("lr-find", CANCER, "--target", "diagnosis", "--steps", "8", "--json")
    assert swept.exit_code == 0, swept.output
    assert "lr-find: step 1/8" in swept.stderr
    assert json.loads(swept.stdout)["suggested_lr"] > 0


def test_the_bar_keeps_n_of_n_and_time_left_at_80_columns(monkeypatch) -> None:
    from rich.console import Console

    from recommender.cli import _progress

    console = Console(width=80, force_terminal=True, record=True, file=open("/dev/null", "w"))
    monkeypatch.setattr(_progress, "err", console)
    bar = _progress._live_bar("tune")
    detail = "last ok 0.1234: " + " ".join(f"hyperparameter_{i}=value" for i in range(8))
    task = bar.add_task("tune", total=20, status="best 0.0002345", detail=detail)
    bar.update(task, completed=7)
    console.print(bar.make_tasks_table(bar.tasks))
    (line,) = console.export_text().splitlines()
    assert "7/20" in line and "-:--:--" in line and "best 0.0002345" in line
    assert line.endswith("…") and len(line) <= 80


def test_the_bar_runs_on_the_commands_own_stderr_console(monkeypatch) -> None:
    from recommender.cli import _common, _progress

    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then takes stderr for a terminal
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    _common.console.cache_clear()  # the stderr console is made anew, as in a terminal
    try:
        assert _common.err.is_terminal
        with _progress.StepProgress("tune", 2, "trial") as progress:
            progress.update(1, "best 0.5", "optimizer=adam")
            progress.update(2, "best 0.4", "optimizer=sgd")
        assert progress._bar is not None and progress._bar.finished
    finally:
        _common.console.cache_clear()


def test_piped_tables_keep_one_line_per_row(kb) -> None:
    from knowledge_base import DatasetRecord, RunRecord

    store = KnowledgeBase(kb)
    store.add_dataset(DatasetRecord("fp0", "data0", "binary", 100, 5, 2))
    config = {"optimizer": "leaky_relu_is_not_an_optimizer_but_a_long_word", "width": 1024}
    store.log_runs([RunRecord("fp0", config, "log_loss", "minimize", 0.25)])
    result = run("kb", "runs", "--kb", kb)
    assert result.exit_code == 0, result.output
    assert any("leaky_relu_is_not_an_optimizer_but_a_long_word" in line and "1024" in line
               for line in result.stdout.splitlines())
