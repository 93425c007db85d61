"""The training-free proxy: its report (per ranking, by task, by size band and over all), and a
quick run end to end on the tests' seed KB with every ranking it compares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.suggest_proxy import summary
from knowledge_base import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]


def test_summary_by_task_size_band_and_all() -> None:
    picks = pd.DataFrame({
        "ranking": ["in use"] * 4 + ["other"] * 4,
        "dataset": ["small", "mid", "large", "small"] * 2,
        "task": ["binary", "binary", "regression", "binary"] * 2,
        "seed": [0, 0, 0, 1] * 2,
        "win": [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0],
        "top1_regret": [0.0, 1.0, 0.5, 0.5, 2.0, 1.0, 0.0, 0.0],
        "top3_regret": [0.0] * 8,
    })  # fmt: skip
    picks["n_rows"] = picks["dataset"].map({"small": 300, "mid": 2_000, "large": 20_000})
    table = summary(picks)
    in_use = table.loc["in use"]
    assert in_use.loc[("all", "all"), "datasets"] == 3
    assert in_use.loc[("all", "all"), "win"] == pytest.approx(0.5)
    assert in_use.loc[("task", "binary"), "datasets"] == 2
    assert in_use.loc[("size", "< 1,000 rows"), "win"] == pytest.approx(0.5)  # 2 seeds, 1 win
    assert in_use.loc[("size", ">= 5,000 rows"), "top1_regret"] == pytest.approx(0.5)
    # bands in size order, and only those with datasets
    assert [g for by, g in in_use.index if by == "size"] == [
        "< 1,000 rows", "1,000-4,999 rows", ">= 5,000 rows"
    ]  # fmt: skip
    assert table.loc[("other", "all", "all"), "top1_regret"] == pytest.approx(0.75)


def test_quick_run_ranks_held_out_seed_configurations_by_every_ranking(tmp_path: Path) -> None:
    kb_path = tmp_path / "seed.duckdb"
    KnowledgeBase(kb_path).import_parquet(ROOT / "tests" / "fixtures" / "seed_kb_2480")
    out = tmp_path / "picks.csv"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suggest_proxy.py"), "--kb", str(kb_path),
         "--quick", "--folds", "2", "--workers", "1", "--min-runs", "2",
         "--params", "n_models=4,n_estimators=40", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    picks = pd.read_csv(out)
    assert set(picks["ranking"]) == {
        "mean - spread (in use)", "mean", "mean - 2 x spread", "mean - spread of the margin",
        "share of members above the default", "mean, no meta-features",
    }  # fmt: skip
    assert picks.groupby("ranking")["dataset"].nunique().eq(6).all()  # --quick: 6 datasets
    assert picks["win"].isin([0.0, 1.0]).all()
