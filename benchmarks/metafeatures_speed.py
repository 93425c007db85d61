"""Benchmark: a 1,000,000-row x 50-column CSV, from file to meta-features (target: under 5 s).

Writes the CSV with DuckDB into a temporary folder (45 numeric columns, two with 5% missing
values, 5 categorical columns, a binary target), then times, in this process: reading the file into
a `training.Table` (with `training.load_table` when this checkout has it, else DuckDB's CSV
reader),
and `compute_meta_features`. For scale, it also times the meta-features of the file's first
`max_rows` rows (20,000): both use a 20,000-row sample, so the ratio should be near 1.

    python benchmarks/metafeatures_speed.py            # 1,000,000 rows
    python benchmarks/metafeatures_speed.py --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

import training  # noqa: E402
from recommender.learn import MetaFeatureExtractor  # noqa: E402
from training import Table  # noqa: E402

N_NUMERIC, N_CATEGORICAL = 45, 5


def write_csv(path: Path, rows: int) -> None:
    """A seeded synthetic table; the target depends on x0, x1 and c0."""
    numeric = []
    for i in range(N_NUMERIC):
        # 4 decimals, as measured data usually has, rather than 17 significant digits.
        value = f"random() * {i + 1}" if i % 3 else f"exp(random() * {1 + i % 4})"
        value = f"round({value}, 4)"
        if i in (5, 6):
            value = f"CASE WHEN random() < 0.05 THEN NULL ELSE {value} END"
        numeric.append(f"{value} AS x{i}")
    categorical = [
        f"'v' || CAST(floor(random() * {3 + 4 * j}) AS INTEGER) AS c{j}"
        for j in range(N_CATEGORICAL)
    ]
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(f"CREATE TABLE t AS SELECT {', '.join(numeric + categorical)} FROM range({rows})")
    con.execute(
        "COPY (SELECT *, CAST(x1 + 2 * x2 + (c0 = 'v1')::INT + random() > 3 AS INTEGER) AS y "
        f"FROM t) TO '{path}' (HEADER, DELIMITER ',')"
    )
    con.close()


def read_table(path: Path) -> tuple[Table, str]:
    """The CSV as a Table, and which reader made it."""
    if hasattr(training, "load_table"):
        return training.load_table(path, target="y"), "training.load_table"
    # Through Arrow: about twice as fast as `.df()` on this file with pandas 3.
    with duckdb.connect() as con:
        frame = con.read_csv(str(path)).to_arrow_table().to_pandas()
    y = frame.pop("y")
    reader = "duckdb read_csv -> Arrow -> pandas (no fingerprint)"
    return Table(frame, y, "y", "binary", "unfingerprinted", path.stem), reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.csv"
        t0 = time.perf_counter()
        write_csv(path, rows)
        write_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6

        extractor = MetaFeatureExtractor()
        t0 = time.perf_counter()
        table, reader = read_table(path)
        t1 = time.perf_counter()
        features = extractor.compute(table)
        t2 = time.perf_counter()
        read_s, mf_s = t1 - t0, t2 - t1

        head = Table(
            table.frame.iloc[: extractor.max_rows].reset_index(drop=True),
            table.y.iloc[: extractor.max_rows].reset_index(drop=True),
            "y",
            "binary",
            "head",
            "head",
        )
        t0 = time.perf_counter()
        MetaFeatureExtractor().compute(head)
        head_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        MetaFeatureExtractor().compute(table)
        warm_s = time.perf_counter() - t0

    total = read_s + mf_s
    print(
        f"file: {rows:,} rows x {table.n_features} features + target, {size_mb:.0f} MB CSV "
        f"(written in {write_s:.1f} s); reader: {reader}"
    )
    print(
        f"sample used: {extractor.rows_used_:,} rows, landmarkers/MI on "
        f"{extractor.landmark_rows_used_:,}; {len(features)} meta-features"
    )
    print()
    print(f"| {'stage':<44} | {'seconds':>8} |")
    print(f"| {'-' * 44} | {'-' * 8}:|")
    for label, value in (
        ("read CSV -> Table", read_s),
        ("meta-features (first call in the process)", mf_s),
        ("total, file -> meta-features", total),
        (f"meta-features again, {rows:,}-row table", warm_s),
        (f"meta-features, its first {extractor.max_rows:,} rows", head_s),
    ):
        print(f"| {label:<44} | {value:>8.2f} |")
    print()
    print(
        f"target < 5 s: {'met' if total < 5 else 'MISSED'} ({total:.2f} s); "
        f"cost ratio {rows:,} rows / {extractor.max_rows:,} rows: {warm_s / head_s:.2f}x"
    )


if __name__ == "__main__":
    main()
