"""The seed knowledge base the quality benchmarks evaluate on, without a 40-minute rebuild.

By default the benchmarks read the shipped seed (the package's Parquet) from a DuckDB file of
their own, `.seed_build/shipped.duckdb`, created on first use. It is not the seed build's file
(`.seed_build/seed.duckdb`): a build resumes from whatever that file holds, so a benchmark must
never create it with the shipped runs of another dataset list. To evaluate on a build, in
progress or complete, pass `--kb .seed_build/seed.duckdb`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommender._kb import open_kb
from recommender.learn import objective_for
from training.metrics import METRIC_DIRECTIONS

SHIPPED_SEED_KB = Path(__file__).resolve().parents[1] / ".seed_build" / "shipped.duckdb"


def seed_kb(path: Path | str = SHIPPED_SEED_KB) -> Path:
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
