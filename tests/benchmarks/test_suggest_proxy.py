"""The training-free proxy's report: per ranking, by task, by size band and over all."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.suggest_proxy import summary


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
