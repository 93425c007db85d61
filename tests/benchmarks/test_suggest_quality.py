"""The leave-one-dataset-out benchmark's bookkeeping: a long run resumes from its results file
(never mixing in results made with other settings), and reports by task and size band."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.suggest_quality import finished_rows, summary
from knowledge_base import KnowledgeBase
from scripts.seed_datasets import seed_datasets

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"seeds": 3, "suggest_seed": 0, "kb_runs": 9000}


def _row(dataset: str, task: str, n_rows: int, top1: float, wins: float) -> dict[str, object]:
    return {
        "dataset": dataset,
        "task": task,
        "n_rows": n_rows,
        "top1": top1,
        "best_of_top3": min(top1, 0.1),
        "default": 0.5,
        "top1_beats_default": wins,
        "top1_beats_default_seed0": wins,
        **SETTINGS,
    }


def test_finished_rows_are_read_back_and_other_settings_refused(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    assert finished_rows(path, SETTINGS) == []
    rows = [_row("a", "binary", 300, 0.2, 1.0), _row("b", "regression", 9000, math.inf, 0.0)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    back = finished_rows(path, SETTINGS)
    assert [r["dataset"] for r in back] == ["a", "b"] and back[1]["top1"] == math.inf
    with pytest.raises(SystemExit, match="seeds"):
        finished_rows(path, {**SETTINGS, "seeds": 1})
    with pytest.raises(SystemExit, match="kb_runs"):
        finished_rows(path, {**SETTINGS, "kb_runs": 9001})


def test_summary_by_task_size_band_and_overall() -> None:
    frame = pd.DataFrame([
        _row("a", "binary", 300, 0.2, 1.0),
        _row("b", "binary", 4_999, 0.4, 0.0),
        _row("c", "regression", 5_000, math.inf, 0.0),  # a diverged pick: no finite regret
        _row("d", "regression", 20_000, 0.6, 1.0),
    ])  # fmt: skip
    table = summary(frame)
    assert table.loc[("task", "binary"), "datasets"] == 2
    assert table.loc[("task", "binary"), "top1 wins"] == 0.5
    assert table.loc[("size", "< 1,000 rows"), "datasets"] == 1
    assert table.loc[("size", "1,000-4,999 rows"), "top1 regret"] == 0.4
    assert table.loc[("size", ">= 5,000 rows"), "top1 regret"] == 0.6  # inf left out of means
    assert table.loc[("all", "all"), "datasets"] == 4
    assert table.loc[("all", "all"), "top1 wins"] == 0.5


def _report_only(kb_path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suggest_quality.py"), "--kb", str(kb_path),
         "--out", str(out), "--report-only"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_report_only_prints_the_results_file_and_trains_nothing(tmp_path: Path) -> None:
    """A finished run whose list has a dataset it never finished (one too slow to train) still
    gives its tables, without training that dataset; a folder with no results is refused
    with a usage error, not a traceback."""
    kb_path = tmp_path / "first.duckdb"
    KnowledgeBase(kb_path).import_parquet(ROOT / "tests" / "fixtures" / "seed_kb_2480")
    names = sorted(set(KnowledgeBase(kb_path).datasets()["name"]))
    listed = {d.name for d in seed_datasets()}
    done = [n for n in names if n in listed][:2]
    settings = {"seeds": 3, "suggest_seed": 0, "kb_runs": 2480}
    settings |= {"default_reseed_beats_seed0": 1.0, "default_reseed_regret_gap": 0.1}
    rows = [
        {**_row(done[0], "binary", 300, 0.2, 1.0), **settings},
        {**_row(done[1], "regression", 900, 0.6, 0.0), **settings},
    ]
    out = tmp_path / "out"
    out.mkdir()
    (out / "suggest_quality.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = _report_only(kb_path, out)
    assert run.returncode == 0, run.stderr
    assert "2 datasets already in" in run.stdout and "0 to evaluate" in run.stdout
    assert "top-1 beats the library default on 1/2" in run.stdout
    assert not (out / "trained.jsonl").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = _report_only(kb_path, empty)
    assert refused.returncode == 2 and "holds no finished dataset" in refused.stderr
    assert "Traceback" not in refused.stderr
