"""How long `load_table` and `fingerprint_frame` take on a large numeric CSV.

Writes a CSV of 1M rows x 50 columns (49 float features + a binary target) to a temporary folder,
then times, side by side in one run: a bare `pyarrow.csv` read (the floor), `pandas.read_csv` with
its default C engine (the naive way), `load_table` (read + checks + fingerprint), and
`fingerprint_frame` alone. The meta-features budget (under 5 s for 1M x 50) depends on this.

Run: python benchmarks/load_table.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training import fingerprint_frame, load_table  # noqa: E402


def write_csv(path: Path, rows: int, features: int, seed: int = 0) -> None:
    """A numeric CSV: `features` float columns and a binary target `y`."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(features)])
    frame["y"] = (x[:, 0] + 0.5 * rng.standard_normal(rows) > 0).astype(np.int64)
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)


def best_of(repeats: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Min and median wall seconds of `repeats` calls (on a shared machine, min is fairest)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows instead of 1M")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    features = 49
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        start = time.perf_counter()
        write_csv(path, rows, features)
        size_mb = path.stat().st_size / 1e6
        print(
            f"wrote {rows:,} rows x {features + 1} columns ({size_mb:.0f} MB) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        frame = pa_csv.read_csv(path).to_pandas()
        cases: list[tuple[str, Callable[[], object]]] = [
            ("pyarrow.csv.read_csv + to_pandas (floor)", lambda: pa_csv.read_csv(path).to_pandas()),
            ("pandas.read_csv (C engine)", lambda: pd.read_csv(path)),
            ("load_table (read, checks, fingerprint)", lambda: load_table(path, target="y")),
            ("fingerprint_frame", lambda: fingerprint_frame(frame)),
        ]
        results = [(label, *best_of(args.repeats, fn)) for label, fn in cases]
    floor = results[0][1]
    print(f"\n{'step':<42} {'min s':>7} {'median s':>9} {'x floor':>8}")
    for label, low, median in results:
        print(f"{label:<42} {low:>7.2f} {median:>9.2f} {low / floor:>8.2f}")


if __name__ == "__main__":
    main()
