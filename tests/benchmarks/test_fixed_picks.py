"""The fixed-pick reference: which picks beat the library default, per dataset, on trainings
of suggest_quality (no KB, no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.fixed_picks import DEFAULT, pick_wins


def test_fixed_picks_oracle_and_best_per_task() -> None:
    results = pd.DataFrame({
        "task": ["regression", "regression", "binary"],
        "n_rows": [500, 2_000, 8_000],
        "metric": ["r2", "r2", "log_loss"],
        "seeds": [2, 2, 2],
        "top1_beats_default": [1.0, 0.0, 1.0],
    }, index=pd.Index(["a", "b", "c"], name="dataset"))  # fmt: skip
    values = {  # two seeds each; r2 higher is better, log loss lower
        ("a", DEFAULT): [0.5, 0.5], ("a", "wide"): [0.6, 0.6], ("a", "deep"): [0.55, 0.55],
        ("b", DEFAULT): [0.5, 0.5], ("b", "wide"): [0.4, 0.4], ("b", "deep"): [0.7, 0.7],
        ("c", DEFAULT): [0.3, 0.3], ("c", "wide"): [0.2, 0.2], ("c", "deep"): [0.4, 0.4],
        ("c", "rare"): [0.1, 0.1],  # trained on one dataset of three: not a fixed pick
        ("a", "one seed"): [0.9], ("b", "one seed"): [0.9],  # not on every seed: left out
    }  # fmt: skip
    trained = pd.DataFrame(
        [(d, c, v) for (d, c), vs in values.items() for v in vs],
        columns=["dataset", "config", "value"],
    )
    table, fixed, best = pick_wins(results, trained, share=0.5)
    assert sorted(fixed) == ["deep", "wide"]
    wide, deep = (f"fixed {fixed.index(name)}" for name in ("wide", "deep"))
    assert table[wide].tolist() == [1.0, 0.0, 1.0]  # log loss 0.2 beats 0.3
    assert table[deep].tolist() == [1.0, 1.0, 0.0]
    assert table["oracle"].tolist() == [1.0, 1.0, 1.0]
    assert table["top-1"].tolist() == [1.0, 0.0, 1.0]
    assert best.to_dict() == {"binary": wide, "regression": deep}
    assert table["best per task"].tolist() == [1.0, 1.0, 1.0]
    assert not np.isnan(table[[wide, deep]].to_numpy()).any()
