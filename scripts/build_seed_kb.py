"""Build the seed knowledge base shipped with the package, from real training runs.

For every dataset of scripts/seed_datasets_v2.csv (at most `--max-rows` rows, subsampled seeded
before the table is built): three anchors, the library default configuration, the modern recipe
(`recommender.learn.MODERN_RECIPE`, the default ranking's first) and the long recipe (its second,
`LONG_RECIPE`: the same with more optimizer steps), a shared scrambled Sobol design
(the same configurations on every dataset, so the KB can compare them across datasets) and a
per-dataset Sobol design (a different scramble per dataset, so together the datasets cover the
space). Training length is part of the design: `max_epochs` and `patience` are sampled from the
space like any other hyperparameter (capped at `--max-epochs`), runs early-stop, and every
epoch's curve is stored, so the KB sees where runs stop.

The designs come in blocks of `--group` points whose members share the block lead's
`BLOCK_FIELDS` (optimizer, batch size, depth, width, batch norm, activation and the recipe
elements: at least `training.BATCH_FIELDS`) and keep their own values of everything else, so
`training.train_many` trains a block as one stacked model (ensembles and embeddings included);
`--group 1` gives plain Sobol points. Blocks are jobs for `--workers` processes (one torch
thread each); only this process writes the KB. Blocks go cheapest first over every dataset
(`--order cost`, by `estimated_seconds`), so a build stopped midway has every dataset's cheap
blocks (the anchors among them) and the most runs for its time; `--order size` trains whole
datasets, smallest first.

Resumable: runs already in the KB (same dataset and configuration, floats to 10 digits) are skipped,
so a stopped build loses at most the blocks in flight. `--stop-after` starts a block only while
it is likely to end by then (its estimate times how long this run's finished blocks took against
theirs, `Pace`): a block of the largest tables takes an hour, and one cut off at a session's end
is lost. Every `--export-every` seconds and at the end, the KB is exported as Parquet to
`--partial`, by default the seed the package ships (recommender/data/seed_kb/, kept in the
repository): a build that takes many sessions loses nothing, and users get its runs as far as
it came; a build whose KB file does not exist yet starts from that export. `--out` names a
folder that only a complete build (every dataset of the list, every block recorded) is also
exported to.

    pip install -e ".[seed]"
    python scripts/build_seed_kb.py                     # full build (see README for the wall time)
    python scripts/build_seed_kb.py --datasets islr_oj,wells_switch --configs 10  # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord, stable_run_id  # noqa: E402
from recommender._kb import SEED_KB_DIR  # noqa: E402
from recommender.learn import (  # noqa: E402
    LONG_RECIPE,
    META_FEATURE_NAMES,
    MODERN_RECIPE,
    compute_meta_features,
)
from recommender.space import default_space  # noqa: E402
from scripts.seed_datasets import (  # noqa: E402
    SPEC_PATH,
    SeedDataset,
    load_seed_table,
    seed_datasets,
)
from training import (  # noqa: E402
    PreparedData,
    TrainConfig,
    TrainResult,
    forward_macs,
    prepare,
    train_many,
)

SEED = 0
SHARED_SCRAMBLE = "shared"  # the scramble of the design every dataset runs
# What a block's members take from its lead. Spelled out rather than `training.BATCH_FIELDS`, so
# the design (and with it every run id) stays the same while a build spans many sessions and the
# trainer changes; a test checks it still covers BATCH_FIELDS, so every block stacks.
BLOCK_FIELDS = (
    "optimizer", "batch_size", "n_layers", "batch_norm", "activation", "width",
    "numeric_preprocessing", "categorical", "target_transform", "label_smoothing",
    "num_embedding", "ensemble_size", "embedding_dim",
)  # fmt: skip
# Run on every dataset before the designs: the library default (what a user gets without the
# recommender), the modern recipe (the default ranking's first) and the long recipe (its second),
# so the KB measures them everywhere and learns where each wins. The modern recipe joined when
# the 160 smallest datasets were built or under way, the long one after the designs were built;
# resumed builds ran them where they were missing (runs are skipped by identity).
ANCHORS = (TrainConfig(), TrainConfig.from_dict(MODERN_RECIPE), TrainConfig.from_dict(LONG_RECIPE))
BUILD_DIR = ROOT / ".seed_build"  # the build's DuckDB file (not kept in the repository)


def _sobol(n: int, scramble: str) -> list[dict[str, Any]]:
    seed = int(hashlib.sha256(scramble.encode()).hexdigest()[:8], 16)
    return default_space().sample(n, np.random.default_rng(seed), method="sobol")


def grouped(points: list[dict[str, Any]], group: int) -> list[dict[str, Any]]:
    """`points` in blocks of `group`: each member takes its block lead's `BLOCK_FIELDS` and keeps
    its own other values (the lead's where the member's optimizer had none, e.g. momentum), as
    `recommender.search.ask_batch` builds a batch, so a block trains as one stacked model."""
    out = []
    for start in range(0, len(points), group):
        lead = points[start]
        out.append(lead)
        for point in points[start + 1 : start + group]:
            out.append({k: v if k in BLOCK_FIELDS else point.get(k, v) for k, v in lead.items()})
    return out


def design(
    dataset: SeedDataset, n_configs: int, n_shared: int, group: int, max_epochs: int
) -> list[TrainConfig]:
    """The anchors (`ANCHORS`), `n_shared` shared Sobol points and the rest from the dataset's
    own, in blocks of `group` (see `grouped`); `max_epochs` capped.

    A Sobol design's first points do not depend on its length, so a larger `--configs` keeps
    every configuration of a smaller one (whole blocks included) and a rebuild trains only
    the new ones.
    """
    shared = grouped(_sobol(n_shared, SHARED_SCRAMBLE), group)
    own = grouped(_sobol(n_configs - len(ANCHORS) - n_shared, dataset.name), group)
    configs = [*ANCHORS, *(TrainConfig.from_dict(p) for p in shared + own)]
    return [c.replace(max_epochs=min(c.max_epochs, max_epochs)) for c in configs]


# `estimated_seconds`' coefficients: least squares (non-negative) of the wall seconds of the
# wide build's runs on datasets over 2,000 rows (2,800 runs) against multiply-adds, optimizer
# steps and row-epochs; Spearman 0.90 between estimate and wall time.
SECONDS_PER_FLOP, SECONDS_PER_STEP, SECONDS_PER_ROW_EPOCH = 3.7e-11, 1.9e-3, 3.4e-5


def estimated_seconds(configs: tuple[TrainConfig, ...], rows: int, n_features: int) -> float:
    """A block's training time on one core at its full `max_epochs`, for ordering the build only:
    the multiply-adds of each member (ensemble members and periodic embeddings included; input
    width from the table's column count), one optimizer step per batch and a cost per row-epoch."""
    total = 0.0
    for c in configs:
        inputs = n_features * (c.embedding_dim if c.num_embedding == "periodic" else 1)
        macs = c.ensemble_size * forward_macs(c, inputs, 1)
        per_row = 6 * macs * SECONDS_PER_FLOP + SECONDS_PER_STEP / c.batch_size
        total += c.max_epochs * rows * (per_row + SECONDS_PER_ROW_EPOCH)
    return total


@dataclass(frozen=True)
class Job:
    """One block of one dataset: trained by a worker with `train_many`."""

    dataset: SeedDataset
    max_rows: int
    configs: tuple[TrainConfig, ...]
    dataset_id: str
    run_ids: tuple[str, ...]
    estimated_seconds: float  # the build's order (`--order cost`)


@lru_cache(maxsize=4)
def _prepared(dataset: SeedDataset, max_rows: int) -> PreparedData:
    return prepare(load_seed_table(dataset, max_rows), seed=SEED)


def _train_block(job: Job) -> list[TrainResult]:
    return train_many(job.configs, _prepared(job.dataset, job.max_rows), device="cpu", seed=SEED)


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one core per worker: processes, not threads, give the speed-up


def config_key(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A configuration's identity up to the last bits of its floats: the design's points go
    through exp and log, whose last bit can differ between CPUs, so a build resumed on another
    machine still recognises the runs it already has (their ids hash the exact floats)."""
    return tuple(
        (name, float(f"{value:.10g}") if isinstance(value, float) else value)
        for name in TrainConfig.field_names()
        for value in [config[name]]
    )


def plan(kb: KnowledgeBase, dataset: SeedDataset, args: argparse.Namespace) -> Iterator[Job]:
    """Register `dataset` in the KB (idempotent) and yield its blocks' runs not yet stored."""
    table = load_seed_table(dataset, args.max_rows)
    kb.add_dataset(DatasetRecord.from_table(table))  # idempotent by fingerprint
    # Computed once (a second per dataset, most of a resumed build's start-up when redone);
    # again only when the stored ones lack a name, i.e. after new meta-features were added.
    stored = kb.meta_features([table.fingerprint]).dropna(axis=1)
    if not set(META_FEATURE_NAMES) <= set(stored.columns):
        kb.set_meta_features(table.fingerprint, compute_meta_features(table))
    done = {config_key(row) for row in kb.run_rows(dataset_id=table.fingerprint)}
    configs = design(dataset, args.configs, args.shared, args.group, args.max_epochs)
    first = len(ANCHORS)
    blocks = [configs[:first]] + [
        configs[i : i + args.group] for i in range(first, len(configs), args.group)
    ]
    for block in blocks:
        todo = tuple(c for c in block if config_key(c.to_dict()) not in done)
        if todo:
            ids = (
                stable_run_id(table.fingerprint, c.to_dict(), seed=SEED, source="seed")
                for c in todo
            )
            cost = estimated_seconds(todo, table.n_rows, table.n_features)
            yield Job(dataset, args.max_rows, todo, table.fingerprint, tuple(ids), cost)


def ordered_jobs(
    kb: KnowledgeBase, datasets: list[SeedDataset], args: argparse.Namespace
) -> list[Job]:
    """Every block still to train, in the build's order: `datasets` as given (`--order size`), or
    cheapest first over all of them (`--order cost`)."""
    jobs = [job for dataset in datasets for job in plan(kb, dataset, args)]
    if args.order == "cost":
        jobs.sort(key=lambda job: job.estimated_seconds)
    return jobs


class Pace:
    """How long this run's blocks take against `estimated_seconds` (the median ratio of those
    finished): the estimate assumes full `max_epochs` on an idle core, while runs early-stop and
    the machine may be shared."""

    def __init__(self) -> None:
        self.ratios: list[float] = []

    def record(self, job: Job, seconds: float) -> None:
        self.ratios.append(seconds / max(job.estimated_seconds, 1e-9))

    def expected_seconds(self, job: Job) -> float:
        """The block's likely wall time; 0 before any block finished (nothing to go by)."""
        return job.estimated_seconds * float(np.median(self.ratios)) if self.ratios else 0.0


class Progress:
    """Records finished blocks in the KB and says how fast the build goes."""

    def __init__(self, kb: KnowledgeBase, partial: Path, export_every: float) -> None:
        self.kb, self.partial, self.export_every = kb, partial, export_every
        self.started = self.exported = time.perf_counter()
        self.runs = self.epochs = self.failed_blocks = 0

    def record(self, job: Job, future: Future[list[TrainResult]]) -> None:
        try:
            results = future.result()
        except Exception as exc:  # a block that could not run is retried by the next build
            self.failed_blocks += 1
            print(f"block of {job.dataset.name} failed: {type(exc).__name__}: {exc}", flush=True)
            return
        self.kb.log_runs(
            [
                RunRecord.from_result(r, dataset_id=job.dataset_id, source="seed", run_id=i)
                for r, i in zip(results, job.run_ids, strict=True)
            ]
        )
        self.runs += len(results)
        self.epochs += sum(r.epochs_run for r in results)
        elapsed = time.perf_counter() - self.started
        print(
            f"{job.dataset.name}: {len(results)} runs; {self.runs} runs, {self.epochs} epochs "
            f"in {elapsed:.0f} s ({self.runs / elapsed:.3f} runs/s, "
            f"{self.epochs / elapsed:.1f} epochs/s)",
            flush=True,
        )
        if time.perf_counter() - self.exported >= self.export_every:
            self.export()

    def export(self) -> None:
        self.kb.export_parquet(self.partial)
        self.exported = time.perf_counter()
        print(f"partial knowledge base exported to {self.partial}", flush=True)


def _open_build_kb(path: Path, partial: Path) -> KnowledgeBase:
    """The build's KB; a new file starts from the last partial export (a build resumed on a
    fresh checkout, whose KB file the repository does not keep)."""
    fresh = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(path)
    if fresh and (partial / "runs.parquet").exists():
        added = kb.import_parquet(partial)
        print(f"resumed from {partial}: {added.get('runs', 0)} runs", flush=True)
    return kb


def build(args: argparse.Namespace) -> Progress:
    """Train and record every run of the selected datasets' designs that the KB lacks."""
    listed = seed_datasets(Path(args.spec))
    wanted = [n for n in args.datasets.split(",") if n]
    unknown = sorted(set(wanted) - {d.name for d in listed})
    if unknown:
        raise SystemExit(f"--datasets: {', '.join(unknown)} not in {args.spec}")
    datasets = sorted(
        (d for d in listed if not wanted or d.name in wanted), key=lambda d: (d.n_rows, d.name)
    )
    kb = _open_build_kb(Path(args.kb), Path(args.partial))
    progress = Progress(kb, Path(args.partial), args.export_every)
    deadline = time.perf_counter() + args.stop_after if args.stop_after else math.inf
    jobs = ordered_jobs(kb, datasets, args)
    hours = sum(job.estimated_seconds for job in jobs) / 3600
    print(
        f"{sum(len(job.configs) for job in jobs)} runs in {len(jobs)} blocks to train: about "
        f"{hours:.0f} worker-hours at their full max_epochs (`estimated_seconds`)",
        flush=True,
    )
    queue, pace = deque(jobs), Pace()
    with ProcessPoolExecutor(args.workers, initializer=_worker_init) as pool:
        pending: dict[Future[list[TrainResult]], tuple[Job, float]] = {}
        while True:
            while queue and len(pending) < args.workers:  # one block per free worker
                left = deadline - time.perf_counter()
                if pace.expected_seconds(queue[0]) >= left:  # --stop-after: would end later
                    break
                job = queue.popleft()
                pending[pool.submit(_train_block, job)] = (job, time.perf_counter())
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job, started = pending.pop(future)
                if future.exception() is None:  # a block that failed says nothing of the pace
                    pace.record(job, time.perf_counter() - started)
                progress.record(job, future)
    stopped = bool(queue)
    if stopped:
        print(f"stopped by --stop-after: {len(queue)} blocks left for the next build", flush=True)
    progress.export()
    why_not = "a subset of the datasets" if wanted else ""
    why_not = why_not or ("stopped by --stop-after" if stopped else "")
    why_not = why_not or ("some blocks failed" if progress.failed_blocks else "")
    if args.out and not why_not:
        kb.export_parquet(args.out)
        print(f"complete build exported to {args.out}", flush=True)
    elif args.out:
        print(f"not exported to {args.out}: {why_not}", flush=True)
    return progress


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--spec", default=str(SPEC_PATH), help="the dataset list (CSV)")
    parser.add_argument("--kb", default=str(BUILD_DIR / "seed.duckdb"))
    parser.add_argument(
        "--partial",
        default=str(SEED_KB_DIR),
        help="folder of the periodic Parquet exports (default: the seed the package ships)",
    )
    parser.add_argument(
        "--out",
        default="",
        help="a folder a complete build is also exported to (default: none)",
    )
    parser.add_argument(
        "--configs", type=int, default=59, help="configurations per dataset, the anchors included"
    )
    parser.add_argument("--shared", type=int, default=24, help="of them, the same on every dataset")
    parser.add_argument("--group", type=int, default=8, help="configurations per stacked block")
    parser.add_argument("--max-rows", type=int, default=20_000, help="row cap per dataset")
    parser.add_argument("--max-epochs", type=int, default=200, help="cap on sampled max_epochs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--export-every", type=float, default=600.0, help="seconds between partial Parquet exports"
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        default=0.0,
        help="seconds to build for: no block starts that would likely end later (0: no limit)",
    )
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    parser.add_argument(
        "--order",
        choices=("cost", "size"),
        default="cost",
        help="cost: cheapest blocks first over every dataset; size: smallest datasets first",
    )
    args = parser.parse_args(argv)
    most = args.configs - len(ANCHORS)
    if most < 0:
        parser.error(
            f"--configs must be at least {len(ANCHORS)} (the library default and the two "
            f"recipes run on every dataset), but got {args.configs}"
        )
    if not 0 <= args.shared <= most:
        parser.error(
            f"--shared must be between 0 and {most} (--configs less the {len(ANCHORS)} anchors), "
            f"but got {args.shared}"
        )
    for name in ("group", "max_rows", "max_epochs", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, but got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> None:
    build(parse_args(argv))


if __name__ == "__main__":
    main()
