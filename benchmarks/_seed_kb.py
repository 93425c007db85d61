"""The seed knowledge base the quality benchmarks evaluate on, without a rebuild.

By default the benchmarks read the shipped seed (the package's Parquet) from a DuckDB file of
their own, `.seed_build/shipped-<runs>.duckdb` (named by the export's run count, so a shipped
seed that grew gets a new file), created on first use. It is not the seed build's file
(`.seed_build/seed.duckdb`): a build resumes from whatever that file holds, so a benchmark must
never create it. To evaluate on a build in progress, pass `--kb .seed_build/seed.duckdb`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from knowledge_base import KnowledgeBase, read_manifest
from recommender._kb import SEED_KB_DIR
from recommender.learn import objective_for
from scripts.seed_datasets import SeedDataset, load_seed_table
from training import Table
from training.metrics import METRIC_DIRECTIONS

ROOT = Path(__file__).resolve().parents[1]
# The first seed (2,480 20-epoch runs on 62 datasets), shipped until the wide build replaced it
# and kept as the tests' seed: the tests, and the benchmarks whose recorded figures were measured
# on it, read it from here.
FIRST_SEED_KB = ROOT / "tests" / "fixtures" / "seed_kb_2480"


def export_runs(folder: Path) -> int:
    """Runs in a KB export, from its manifest: a build that grew is another KB."""
    manifest = read_manifest(folder)
    return 0 if manifest is None else int(manifest["rows"]["runs"])


SHIPPED_SEED_KB = ROOT / ".seed_build" / f"shipped-{export_runs(SEED_KB_DIR)}.duckdb"


def seed_kb(path: Path | str = SHIPPED_SEED_KB) -> Path:
    """`path`, first filled from the shipped seed Parquet if no file is there."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        KnowledgeBase(path).import_parquet(SEED_KB_DIR)
        print(f"created {path} from the shipped seed knowledge base", flush=True)
    return path


def oriented_values(runs: pd.DataFrame) -> np.ndarray:
    """One dataset's runs' objective, higher is better; failed and diverged runs -inf."""
    metric = objective_for(str(runs["task"].iloc[0]))
    sign = 1.0 if METRIC_DIRECTIONS[metric] == "maximize" else -1.0
    values = sign * runs[metric].astype(float).to_numpy()
    ok = runs["status"].isin(["ok", "pruned"]).to_numpy() & np.isfinite(values)
    return np.where(ok, values, -np.inf)


# The size bands the quality benchmarks report by (row counts as the KB records them, i.e. after
# the build's row cap).
SIZE_BANDS = (0, 1_000, 5_000, np.inf)
SIZE_LABELS = ("< 1,000 rows", "1,000-4,999 rows", ">= 5,000 rows")


def report_groups(frame: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """The groupings the quality benchmarks report by: per task, per size band (from `n_rows`;
    an ordered categorical, so group with `observed=True`) and over all."""
    return [
        ("task", frame["task"]),
        ("size", pd.cut(frame["n_rows"], SIZE_BANDS, right=False, labels=SIZE_LABELS)),
        ("all", pd.Series("all", frame.index)),
    ]


# Each table of a KB export, with the column that ties its rows to a dataset (or a run).
TABLES = {
    "datasets": "id", "meta_features": "dataset_id", "studies": "dataset_id",
    "runs": "dataset_id", "curves": "run_id",
}  # fmt: skip


def seed_table(dataset: SeedDataset, runs: pd.DataFrame, kb_rows: pd.Series) -> Table:
    """The table the seed build trained `dataset` on: of the KB records named so (`runs`: the
    runs of those records), the one with the most runs, loaded at the row count the KB recorded
    for it (`kb_rows`, by dataset id), so that its fingerprint is that record's id."""
    dataset_id = runs["dataset_id"].value_counts().idxmax()
    table = load_seed_table(dataset, int(kb_rows[dataset_id]))
    if table.fingerprint != dataset_id:
        raise SystemExit(
            f"{dataset.name}: its {kb_rows[dataset_id]} rows are not the table its KB runs "
            "trained on (another fingerprint); was the KB built from another dataset list?"
        )
    return table


def held_out_kb(export: Path, name: str, path: Path) -> Path:
    """A new KB file at `path` holding a KB export (e.g. the wide build's) without the dataset
    called `name`: what a user's KB knows when that dataset is new to it. Held out by name,
    since another row cap gives the same data another fingerprint."""
    import pyarrow.parquet as parquet

    tables = {t: parquet.read_table(export / f"{t}.parquet").to_pandas() for t in TABLES}
    datasets, runs = tables["datasets"], tables["runs"]
    gone = set(datasets.loc[datasets["name"] == name, "id"])
    gone_runs = set(runs.loc[runs["dataset_id"].isin(gone), "id"])
    folder = path.parent / f"{path.stem}.import"
    folder.mkdir(parents=True, exist_ok=True)
    for table, column in TABLES.items():
        frame = tables[table]
        dropped = gone_runs if table == "curves" else gone
        frame[~frame[column].isin(dropped)].to_parquet(folder / f"{table}.parquet", index=False)
    KnowledgeBase(path).import_parquet(folder)
    return path
