"""The seed knowledge base the quality benchmarks evaluate on, without a 40-minute rebuild.

The benchmarks read the seed build's KB (`.seed_build/seed.duckdb`, written by
scripts/build_seed_kb.py). On a fresh checkout it does not exist yet, so it is created from the
Parquet seed shipped in the package: the same runs with the same ids, which a later
`build_seed_kb.py` then finds and skips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommender._kb import open_kb
from recommender.learn import objective_for
from training.metrics import METRIC_DIRECTIONS

SEED_BUILD_KB = Path(__file__).resolve().parents[1] / ".seed_build" / "seed.duckdb"


def seed_kb(path: Path | str = SEED_BUILD_KB) -> Path:
    """`path`, first filled from the shipped seed Parquet if no file is there."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        open_kb(path)
        print(f"created {path} from the shipped seed knowledge base", flush=True)
    return path


def oriented_values(runs: pd.DataFrame) -> np.ndarray:
    """One dataset's runs' objective, higher is better; failed and diverged runs -inf."""
    metric = objective_for(str(runs["task"].iloc[0]))
    sign = 1.0 if METRIC_DIRECTIONS[metric] == "maximize" else -1.0
    values = sign * runs[metric].astype(float).to_numpy()
    ok = runs["status"].isin(["ok", "pruned"]).to_numpy() & np.isfinite(values)
    return np.where(ok, values, -np.inf)
