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


def held_out_kb(export: Path, name: str, path: Path) -> Path:
    """A new KB file at `path` holding a KB export (e.g. the wide build's) without the dataset
    called `name`: what a user's KB knows when that dataset is new to it. Held out by name,
    since another row cap gives the same data another fingerprint."""
    import pyarrow.parquet as parquet

    from knowledge_base import KnowledgeBase

    datasets = parquet.read_table(export / "datasets.parquet").to_pandas()
    gone = set(datasets.loc[datasets["name"] == name, "id"])
    runs = parquet.read_table(export / "runs.parquet").to_pandas()
    gone_runs = set(runs.loc[runs["dataset_id"].isin(gone), "id"])
    keep = {
        "datasets": ("id", gone), "meta_features": ("dataset_id", gone),
        "studies": ("dataset_id", gone), "runs": ("dataset_id", gone),
        "curves": ("run_id", gone_runs),
    }  # fmt: skip
    folder = path.parent / f"{path.stem}.import"
    folder.mkdir(parents=True, exist_ok=True)
    for table, (column, dropped) in keep.items():
        frame = parquet.read_table(export / f"{table}.parquet").to_pandas()
        frame[~frame[column].isin(dropped)].to_parquet(folder / f"{table}.parquet", index=False)
    KnowledgeBase(path).import_parquet(folder)
    return path
