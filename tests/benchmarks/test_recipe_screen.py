"""The anchor screen: real trainings of a candidate recipe and the library default on a seed
dataset, counted by task and size band; a rerun resumes, and bad candidates are usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from benchmarks.recipe_screen import DEFAULT, summary

ROOT = Path(__file__).resolve().parents[2]
SHORT = 'short={"max_epochs": 3}'  # the modern recipe, 3 epochs: a quick real training


def test_summary_counts_wins_and_failed_trainings() -> None:
    frame = pd.DataFrame({
        "dataset": ["a", "b", "c", "d"],
        "task": ["regression", "regression", "binary", "binary"],
        "n_rows": [400, 2_000, 600, 9_000],
        DEFAULT: [0.5, 0.5, None, -0.4],  # c: the default failed, any finished candidate wins
        "wide": [0.6, 0.4, -0.3, None],  # d: the candidate failed, a loss
    })  # fmt: skip
    table = summary(frame, ["wide"])
    assert table.loc["wide", "regression"] == "1 / 2 (+0.0000)"  # +0.1 and -0.1
    assert table.loc["wide", "binary"] == "1 / 2 (+nan)"  # no dataset where both finished
    assert table.loc["wide", "< 1,000 rows"] == "2 / 2 (+0.1000)"
    assert table.loc["wide", "all"].startswith("2 / 4")


def _screen(kb: Path, out: Path, *candidates: str) -> subprocess.CompletedProcess[str]:
    args = [f"--candidate={c}" for c in candidates]
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "recipe_screen.py"), "--kb", str(kb),
         "--out", str(out), "--datasets", "digits", "--seeds", "1",
         "--workers", "1", "--trained", str(out.parent / "none.jsonl"), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_screen_trains_for_real_and_resumes(tmp_path: Path) -> None:
    kb, out = tmp_path / "seed.duckdb", tmp_path / "out"
    (tmp_path / "none.jsonl").touch()  # no earlier trainings: everything is trained here
    run = _screen(kb, out, SHORT)
    assert run.returncode == 0, run.stderr
    (results,) = out.glob("recipe_screen-*.jsonl")
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["dataset"], r["task"]) for r in rows] == [("digits", "multiclass")]
    assert -1 < rows[0][DEFAULT] < 0 and -3 < rows[0]["short"] < 0  # log loss, oriented
    trained = (out / "trained.jsonl").read_text().splitlines()
    assert len(trained) == 2  # the default and the candidate, one seed each
    again = _screen(kb, out, SHORT)
    assert again.returncode == 0 and "0 to screen" in again.stdout
    assert len((out / "trained.jsonl").read_text().splitlines()) == 2  # nothing trained twice
    other = _screen(kb, out, 'wide={"max_epochs": 2}')  # another list: its own results
    assert other.returncode == 0 and "0 datasets already" in other.stdout
    assert len(list(out.glob("recipe_screen-*.jsonl"))) == 2
    assert len((out / "trained.jsonl").read_text().splitlines()) == 3  # the default not again
    bad = _screen(kb, tmp_path / "bad", "wide={width: 512}")
    assert bad.returncode == 2 and "is not NAME=JSON" in bad.stderr
    assert "Traceback" not in bad.stderr
