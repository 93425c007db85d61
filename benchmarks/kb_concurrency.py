"""Knowledge-base concurrency soak: W processes, each logging R runs one transaction at a time.

    python benchmarks/kb_concurrency.py                  # 8 writers x 500 runs, 20 repetitions
    python benchmarks/kb_concurrency.py --quick          # 4 writers x 50 runs, 2 repetitions
    python benchmarks/kb_concurrency.py --writers 4 --writes 200 --repeats 6

This is the write pattern of `tune`, ask/tell `tell()` and the Optuna sampler: one short
transaction per run, from several processes at once. Every run gets a fresh random id (as
`tune` gives it) and carries its writer and number in `seed` and `value`, so a run stored twice
under two ids counts as duplicated and a run never stored counts as lost. A writer whose process
ends with an error counts as a crash (its message is printed). writes/s is all writers'
runs over the repetition's wall time, next to one writer alone, measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._args import whole_number  # noqa: E402
from knowledge_base import CurvePoint, DatasetRecord, KnowledgeBase, RunRecord  # noqa: E402

DATASET = DatasetRecord("bench", "bench", "binary", 100, 5, 2)
CURVE = tuple(CurvePoint(e, 1 / e, 1.1 / e, 1.1 / e, 1e-3) for e in range(1, 6))


def _writer(path: str, worker: int, writes: int, errors: mp.Queue, spans: mp.Queue) -> None:
    """Log `writes` runs, one `log_runs` call (one transaction) each; report when it wrote."""
    try:
        kb = KnowledgeBase(path)
        start = time.time()
        for i in range(writes):
            kb.log_runs([RunRecord(
                dataset_id=DATASET.id, config={"learning_rate": 1e-3, "batch_size": 64},
                objective="log_loss", direction="minimize", value=float(worker * writes + i),
                best_epoch=5, epochs_run=5, curve=CURVE, source="log", seed=worker,
            )])
        spans.put((start, time.time()))
    except BaseException:
        errors.put(f"writer {worker}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
        raise


def _repetition(folder: Path, writers: int, writes: int) -> dict[str, float]:
    """One fresh KB, `writers` processes at once; what arrived, and how fast."""
    path = str(folder / f"kb-{time.monotonic_ns()}.duckdb")
    KnowledgeBase(path).add_dataset(DATASET)
    ctx = mp.get_context("spawn")
    errors, spans = ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(path, w, writes, errors, spans)) for w in range(writers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    while not errors.empty():
        print("  crash:", errors.get())
    # Writing time only: from the first writer's first write to the last one's last (process
    # start-up, which imports pandas and pyarrow, is not the store's cost).
    done = [spans.get() for _ in range(writers - sum(p.exitcode != 0 for p in procs))]
    wall = max(end for _, end in done) - min(begin for begin, _ in done) if done else float("nan")
    runs = KnowledgeBase(path).runs(columns=["value", "seed"])
    distinct = runs["value"].nunique()
    return {
        "expected": writers * writes,
        "stored": len(runs),
        "lost": writers * writes - distinct,
        "duplicated": len(runs) - distinct,
        "crashes": sum(proc.exitcode != 0 for proc in procs),
        "writes_per_s": len(runs) / wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=whole_number(1), default=8)
    parser.add_argument("--writes", type=whole_number(1), default=500, help="runs per writer")
    parser.add_argument("--repeats", type=whole_number(1), default=20)
    parser.add_argument("--quick", action="store_true", help="4 writers x 50 runs, 2 repeats")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # a long soak shows each repetition at once
    if args.quick:
        args.writers, args.writes, args.repeats = 4, 50, 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        alone = _repetition(folder, 1, args.writes)
        print(f"one writer alone: {args.writes} runs, {alone['writes_per_s']:.1f} writes/s")
        totals = {"expected": 0, "stored": 0, "lost": 0, "duplicated": 0, "crashes": 0}
        rates = []
        print(f"{'rep':>4} {'expected':>9} {'stored':>7} {'lost':>5} {'dup':>4} {'crash':>6} "
              f"{'writes/s':>9} {'vs alone':>9}")
        for rep in range(1, args.repeats + 1):
            result = _repetition(folder, args.writers, args.writes)
            for key in totals:
                totals[key] += int(result[key])
            rates.append(result["writes_per_s"])
            ratio = result["writes_per_s"] / alone["writes_per_s"]
            print(f"{rep:>4} {result['expected']:>9} {result['stored']:>7} {result['lost']:>5} "
                  f"{result['duplicated']:>4} {result['crashes']:>6} "
                  f"{result['writes_per_s']:>9.1f} {ratio:>8.2f}x")
    mean_rate = sum(rates) / len(rates)
    print(f"total: {args.writers} writers x {args.writes} runs x {args.repeats} repetitions: "
          f"expected {totals['expected']}, stored {totals['stored']}, lost {totals['lost']}, "
          f"duplicated {totals['duplicated']}, writer crashes {totals['crashes']}; "
          f"{mean_rate:.1f} writes/s ({mean_rate / alone['writes_per_s']:.2f}x one writer alone)")
    return 0 if totals["lost"] == totals["duplicated"] == totals["crashes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
