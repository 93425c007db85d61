"""Build the seed knowledge base shipped with the package, from real training runs.

For every dataset in scripts/seed_datasets.csv: the library default configuration, a shared
scrambled Sobol design (the same configurations on every dataset, so the KB can compare them
across datasets) and a per-dataset Sobol design (a different scramble per dataset, so together
the datasets cover the space), each trained with the training engine and logged with
`source="seed"`. Resumable: runs already in the KB (stable ids from dataset, configuration and
seed) are skipped. At the end the KB is exported as Parquet into the package
(recommender/data/seed_kb/), which a new user KB loads.

    pip install -e ".[seed]"
    python scripts/build_seed_kb.py --workers 2        # full build (see README for the wall time)
    python scripts/build_seed_kb.py --datasets digits,boston_housing --configs 5  # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord, stable_run_id  # noqa: E402
from recommender.learn import compute_meta_features  # noqa: E402
from recommender.space import default_space  # noqa: E402
from scripts.seed_datasets import SeedDataset, load_seed_table, seed_datasets  # noqa: E402
from training import PreparedData, TrainConfig, TrainResult, prepare, train  # noqa: E402

SEED = 0


SHARED_SCRAMBLE = "shared"  # the scramble of the design every dataset runs


def _sobol(n: int, scramble: str) -> list[dict[str, Any]]:
    seed = int(hashlib.sha256(scramble.encode()).hexdigest()[:8], 16)
    return default_space().sample(n, np.random.default_rng(seed), method="sobol")


def design(
    dataset: SeedDataset, n_configs: int, n_shared: int, max_epochs: int
) -> list[TrainConfig]:
    """The library default, `n_shared` shared Sobol points and the rest from the dataset's own.

    Shared points are what lets the KB say "this configuration beats that one on most datasets"
    from runs rather than only through the surrogate; the per-dataset points fill the space.
    Epochs are capped for the build.
    """
    samples = _sobol(n_shared, SHARED_SCRAMBLE) + _sobol(n_configs - 1 - n_shared, dataset.name)
    configs = [TrainConfig()] + [TrainConfig.from_dict(s) for s in samples]
    return [c.replace(max_epochs=min(c.max_epochs, max_epochs)) for c in configs]


@lru_cache(maxsize=2)
def _prepared(dataset: SeedDataset, max_rows: int) -> PreparedData:
    return prepare(load_seed_table(dataset, max_rows), seed=SEED)


def _train_one(job: tuple[SeedDataset, int, TrainConfig]) -> TrainResult:
    dataset, max_rows, config = job
    return train(config, _prepared(dataset, max_rows), device="cpu", seed=SEED)


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one core per worker: processes, not threads, give the speed-up


def build(args: argparse.Namespace) -> None:
    kb = KnowledgeBase(args.kb)
    wanted = set(args.datasets.split(",")) if args.datasets else None
    datasets = [d for d in seed_datasets() if wanted is None or d.name in wanted]
    jobs: list[tuple[SeedDataset, int, TrainConfig]] = []
    ids: list[tuple[str, str]] = []
    for dataset in datasets:
        table = load_seed_table(dataset, args.max_rows)
        kb.add_dataset(DatasetRecord.from_table(table))  # idempotent by fingerprint
        kb.set_meta_features(table.fingerprint, compute_meta_features(table))
        done = set(kb.runs(dataset_id=table.fingerprint)["id"])
        for config in design(dataset, args.configs, args.shared, args.max_epochs):
            run_id = stable_run_id(table.fingerprint, config.to_dict(), seed=SEED, source="seed")
            if run_id not in done:
                jobs.append((dataset, args.max_rows, config))
                ids.append((table.fingerprint, run_id))
    print(f"{len(datasets)} datasets, {len(jobs)} runs to train", flush=True)
    started = time.perf_counter()
    pending: list[Any] = []
    with ProcessPoolExecutor(args.workers, initializer=_worker_init) as pool:
        for done_count, ((dataset_id, run_id), result) in enumerate(
            zip(ids, pool.map(_train_one, jobs, chunksize=4), strict=True), start=1
        ):
            pending.append(
                RunRecord.from_result(result, dataset_id=dataset_id, source="seed", run_id=run_id)
            )
            if len(pending) >= 20 or done_count == len(jobs):
                kb.log_runs(pending)
                pending = []
                elapsed = time.perf_counter() - started
                print(f"{done_count}/{len(jobs)} runs, {elapsed:.0f} s", flush=True)
    print(f"trained {len(jobs)} runs in {time.perf_counter() - started:.0f} s", flush=True)
    if args.out:
        kb.export_parquet(args.out)
        print(f"exported to {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--kb", default=str(ROOT / ".seed_build" / "seed.duckdb"))
    parser.add_argument("--out", default=str(ROOT / "recommender" / "data" / "seed_kb"))
    parser.add_argument("--configs", type=int, default=40, help="configurations per dataset")
    parser.add_argument(
        "--shared", type=int, default=20, help="of them, the same on every dataset"
    )
    parser.add_argument("--max-rows", type=int, default=2500, help="row cap per dataset")
    parser.add_argument("--max-epochs", type=int, default=20, help="cap on max_epochs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    if not 0 <= args.shared <= args.configs - 1:
        parser.error(f"--shared must be between 0 and {args.configs - 1}, but got {args.shared}")
    Path(args.kb).parent.mkdir(parents=True, exist_ok=True)
    build(args)


if __name__ == "__main__":
    main()
