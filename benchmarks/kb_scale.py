"""Knowledge-base scale benchmark: bulk insert, one dataset's runs, full load, Parquet round trip.

    python benchmarks/kb_scale.py            # 1,000,000 runs (about a minute)
    python benchmarks/kb_scale.py --quick    # 20,000 runs, a smoke test

Inserts go through the public `KnowledgeBase.log_runs` in batches (records -> Arrow -> one
`INSERT ... SELECT` per table per transaction); building the synthetic records is not timed.
10% of the runs carry a 20-epoch learning curve.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge_base import (  # noqa: E402
    HYPERPARAMETERS,
    CurvePoint,
    DatasetRecord,
    KnowledgeBase,
    RunRecord,
)

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "silu", "tanh")
SURROGATE_COLUMNS = ["dataset_id", *HYPERPARAMETERS, "objective", "value", "status"]


def synthetic_runs(
    rng: np.random.Generator, start: int, n: int, n_datasets: int
) -> list[RunRecord]:
    """`n` plausible runs spread over `n_datasets` datasets; every tenth has a 20-epoch curve."""
    lr = 10 ** rng.uniform(-5, 0, n)
    value = rng.uniform(0.05, 1.5, n)
    ds = rng.integers(0, n_datasets, n)
    opt = rng.integers(0, len(OPTIMIZERS), n)
    act = rng.integers(0, len(ACTIVATIONS), n)
    width = 2 ** rng.integers(4, 11, n)
    layers = rng.integers(1, 6, n)
    batch = 2 ** rng.integers(4, 11, n)
    dropout = rng.uniform(0, 0.5, n)
    epochs = np.arange(1, 21)
    runs = []
    for i in range(n):
        curve = ()
        if (start + i) % 10 == 0:
            losses = value[i] + 1.0 / epochs
            curve = tuple(
                CurvePoint(int(e), float(loss), float(loss) + 0.05, float(loss), float(lr[i]))
                for e, loss in zip(epochs, losses, strict=True)
            )
        config = {
            "optimizer": OPTIMIZERS[opt[i]], "learning_rate": float(lr[i]),
            "batch_size": int(batch[i]), "n_layers": int(layers[i]), "width": int(width[i]),
            "activation": ACTIVATIONS[act[i]], "dropout": float(dropout[i]), "max_epochs": 20,
        }
        runs.append(RunRecord(
            dataset_id=f"ds{ds[i]:05d}", config=config, objective="log_loss",
            direction="minimize", value=float(value[i]), metrics={"log_loss": float(value[i])},
            best_epoch=20, epochs_run=20, curve=curve, wall_seconds=1.0, device="cpu",
            seed=start + i, source="seed", id=f"run{start + i:09d}",
        ))
    return runs


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Best wall time of `repeat` calls (each opens its own connection), and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 runs instead of 1,000,000")
    parser.add_argument("--runs", type=int, default=None, help="number of runs to insert")
    parser.add_argument("--batch", type=int, default=50_000, help="runs per log_runs call")
    parser.add_argument("--datasets", type=int, default=1000, help="distinct datasets")
    args = parser.parse_args()
    n_runs = args.runs or (20_000 if args.quick else 1_000_000)
    n_datasets = min(args.datasets, max(1, n_runs // 100))
    rng = np.random.default_rng(0)

    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Path(tmp) / "kb.duckdb")
        kb.add_datasets([
            DatasetRecord(f"ds{d:05d}", f"data{d}", "binary", 1000, 10, 2)
            for d in range(n_datasets)
        ])

        insert_s = 0.0
        for start in range(0, n_runs, args.batch):
            batch = synthetic_runs(rng, start, min(args.batch, n_runs - start), n_datasets)
            seconds, _ = timed(lambda batch=batch: kb.log_runs(batch))
            insert_s += seconds
        stats = kb.stats()

        one_s, one = timed(lambda: kb.runs(dataset_id="ds00007"), repeat=5)
        few_s, _ = timed(lambda: kb.runs(dataset_id="ds00008", columns=SURROGATE_COLUMNS), repeat=5)
        load_s, frame = timed(lambda: kb.runs(columns=SURROGATE_COLUMNS), repeat=3)
        export_s, _ = timed(lambda: kb.export_parquet(Path(tmp) / "export"))
        fresh = KnowledgeBase(Path(tmp) / "fresh.duckdb")
        import_s, _ = timed(lambda: fresh.import_parquet(Path(tmp) / "export"))
        assert fresh.stats()["runs"] == stats["runs"] == n_runs

    rows = [
        ("insert (log_runs)", f"{n_runs / insert_s:,.0f} runs/s", ">= 50,000 runs/s",
         n_runs / insert_s >= 50_000),
        ("one dataset's runs", f"{one_s * 1000:.1f} ms ({len(one)} runs, all columns)",
         "< 50 ms", one_s < 0.05),
        ("one dataset's runs, surrogate columns",
         f"{few_s * 1000:.1f} ms ({len(SURROGATE_COLUMNS)} columns)", "", None),
        ("load all runs for the surrogate", f"{load_s:.2f} s ({len(frame):,} x {frame.shape[1]})",
         "< 2 s", load_s < 2.0),
        ("export Parquet", f"{export_s:.2f} s", "", None),
        ("import Parquet into an empty KB", f"{import_s:.2f} s", "", None),
    ]
    print(f"knowledge base: {n_runs:,} runs over {n_datasets} datasets, "
          f"{stats['curves']:,} curve points, {stats['size_bytes'] / 1e6:.0f} MB")
    print(f"{'step':38} {'measured':44} {'target':18} ok")
    for step, figure, target, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(f"{step:38} {figure:44} {target:18} {mark}")


if __name__ == "__main__":
    main()
