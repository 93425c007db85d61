"""How fast is `suggest` on a large knowledge base? Cold (surrogate fitted) and warm (cached).

Builds a synthetic KB of `--runs` runs (default 100,000) over `--datasets` datasets, with configs
sampled from the default space and random scores, the first `--curve-runs` (default 15,000, the
size of the wide seed KB) with a learning curve of `max_epochs` epochs that the surrogate's fit
reads to learn each run at several epoch budgets, then times `Recommender.suggest` on
examples/breast_cancer.csv: once cold (no cached surrogate: fit included) and several times warm
(a new Recommender each time, surrogate loaded from the disk cache, as a second CLI call would).
With `--kb-export DIR` the KB is a real one instead, imported from a Parquet export (the seed
build's partial export, say).

The cold case runs twice per repeat, turn by turn: the surrogate's members fitted on one thread
(as before they were fitted side by side) and on every core this process may use, so the
machine's load hits both alike.

    python benchmarks/suggest_speed.py            # 100k runs
    python benchmarks/suggest_speed.py --quick    # 10k runs, all with curves
    python benchmarks/suggest_speed.py --kb-export scripts/seed_kb_partial --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._args import kb_export  # noqa: E402
from knowledge_base import CurvePoint, DatasetRecord, KnowledgeBase, RunRecord  # noqa: E402
from recommender import _cores  # noqa: E402
from recommender.api import Recommender  # noqa: E402
from recommender.learn import META_FEATURE_NAMES  # noqa: E402
from recommender.learn import _fit as surrogate_fit  # noqa: E402
from recommender.space import default_space  # noqa: E402
from training import TrainConfig  # noqa: E402


def build_kb(path: Path, n_runs: int, n_datasets: int, curve_runs: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    kb = KnowledgeBase(path)
    tasks = ["binary", "multiclass", "regression"]
    ids = [f"ds{i:05d}" for i in range(n_datasets)]
    kb.add_datasets(
        [
            DatasetRecord(
                i, f"synthetic_{n}", tasks[n % 3], 1000, 10, 0 if n % 3 == 2 else 2 + n % 3
            )
            for n, i in enumerate(ids)
        ]
    )
    for dataset_id in ids:
        kb.set_meta_features(
            dataset_id,
            dict(zip(META_FEATURE_NAMES, rng.normal(size=len(META_FEATURE_NAMES)), strict=True)),
        )
    samples = default_space().sample(n_runs, rng)
    records = []
    for n, sample in enumerate(samples):
        task = tasks[(n % n_datasets) % 3]
        metric, direction = ("r2", "maximize") if task == "regression" else ("log_loss", "minimize")
        value = float(rng.uniform(0, 1))
        epochs = int(sample["max_epochs"]) if n < curve_runs else 0
        # A curve that approaches `value` (its best) at its last epoch, from either direction.
        toward = value + np.geomspace(1.0, 1e-3, epochs) * (1 if direction == "minimize" else -1)
        records.append(
            RunRecord(
                ids[n % n_datasets],
                TrainConfig.from_dict(sample).to_dict(),
                metric,
                direction,
                value,
                metrics={metric: value},
                epochs_run=epochs,
                curve=tuple(CurvePoint(e + 1, v, v, v, 1e-3) for e, v in enumerate(toward)),
                source="import",
                id=f"run{n:07d}",
            )
        )
    for start in range(0, len(records), 20_000):
        kb.log_runs(records[start : start + 20_000])


def cold_suggest(path: Path, data: Path, cores: int) -> float:
    """Seconds of one `suggest` with nothing cached, the members fitted on `cores` threads."""
    surrogate_fit._MEMORY.clear()
    shutil.rmtree(path.parent / f"{path.stem}.cache", ignore_errors=True)
    fitting_cores = _cores.usable_cores
    _cores.usable_cores = lambda: cores
    try:
        started = time.perf_counter()
        Recommender(kb=path).suggest(data, "diagnosis")
        return time.perf_counter() - started
    finally:
        _cores.usable_cores = fitting_cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--curve-runs", type=int, default=15_000, help="runs with a curve")
    parser.add_argument("--quick", action="store_true", help="10k runs, 100 datasets")
    parser.add_argument(
        "--kb-export", type=kb_export, help="a KB Parquet export to time instead of a synthetic KB"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.datasets = 10_000, 100
    data = ROOT / "examples" / "breast_cancer.csv"
    cores = _cores.usable_cores()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kb.duckdb"
        started = time.perf_counter()
        if args.kb_export is not None:
            KnowledgeBase(path).import_parquet(args.kb_export)
            print(f"imported {args.kb_export} in {time.perf_counter() - started:.1f} s")
        else:
            build_kb(path, args.runs, args.datasets, args.curve_runs)
            print(
                f"built a KB of {args.runs:,} runs ({min(args.curve_runs, args.runs):,} with "
                f"curves) over {args.datasets} datasets in {time.perf_counter() - started:.1f} s"
            )
        cold: dict[int, list[float]] = {1: [], cores: []}
        for _ in range(args.repeats):
            for threads in cold:
                cold[threads].append(cold_suggest(path, data, threads))
        warm = []
        for _ in range(args.repeats):
            surrogate_fit._MEMORY.clear()  # as a new process would: load from the disk cache
            started = time.perf_counter()
            Recommender(kb=path).suggest(data, "diagnosis")
            warm.append(time.perf_counter() - started)
    print(f"{'case (median of ' + str(args.repeats) + ')':<40}{'seconds':>10}{'target':>10}")
    for threads, seconds in cold.items():
        label = f"cold, members fitted on {threads} thread{'s' if threads > 1 else ''}"
        print(f"{label:<40}{float(np.median(seconds)):>10.2f}{'< 10':>10}")
    print(f"{'warm':<40}{float(np.median(warm)):>10.2f}{'< 1':>10}")


if __name__ == "__main__":
    main()
