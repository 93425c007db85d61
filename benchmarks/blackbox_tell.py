"""Loading history into a black-box study: `Study.tell_many` against one `tell` per run, side by
side in one run, into a DuckDB file (as a user's KB is).

Each run has four parameters (two of them not `TrainConfig` fields, stored in the JSON column)
and a told value; the study uses the default strategy (surrogate), so the searcher learns every
run too. Wall time and this process's CPU time are both printed: on a shared machine the CPU
time is the steadier figure.

    python benchmarks/blackbox_tell.py            # 10,000 runs in bulk, 100 one by one
    python benchmarks/blackbox_tell.py --quick    # 2,000 and 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender import Recommender, SearchSpace  # noqa: E402

SPACE = SearchSpace.from_dict(
    {
        "parameters": {
            "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 1.0},
            "kernel_size": {"type": "int", "low": 1, "high": 9},
            "block": {"type": "categorical", "choices": ["conv", "attention", "mlp"]},
        }
    }
)


def history(n: int, seed: int) -> pd.DataFrame:
    frame = pd.DataFrame(SPACE.sample(n, seed))
    frame["value"] = -np.log10(frame["learning_rate"]) - frame["dropout"]
    return frame


def timed(action) -> tuple[float, float]:  # noqa: ANN001
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=whole_number(1), default=10_000)
    parser.add_argument("--single", type=whole_number(1), default=100)
    parser.add_argument("--quick", action="store_true", help="2,000 in bulk, 30 one by one")
    args = parser.parse_args()
    bulk, single = (2_000, 30) if args.quick else (args.bulk, args.single)
    warnings.simplefilter("ignore")  # an empty KB's "learns nothing" warning
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recommender(kb=KnowledgeBase(Path(tmp) / "kb.duckdb"), space=SPACE)
        frame = history(bulk, seed=0)
        study = rec.study(name="history in bulk")
        wall, cpu = timed(lambda: study.tell_many(frame))
        assert len(study.trials()) == bulk
        one = rec.study(name="history one by one")
        rows = history(single, seed=1).to_dict("records")
        one_wall, one_cpu = timed(
            lambda: [one.tell({k: r[k] for k in SPACE.names}, value=r["value"]) for r in rows]
        )
    print(
        f"tell_many: {bulk} runs in {wall:.2f} s wall ({bulk / wall:,.0f} runs/s), "
        f"{cpu:.2f} s CPU ({bulk / cpu:,.0f} runs/s)"
    )
    print(
        f"tell one by one: {single} runs in {one_wall:.2f} s wall "
        f"({single / one_wall:,.0f} runs/s), {one_cpu:.2f} s CPU ({single / one_cpu:,.0f} runs/s)"
    )
    print(
        f"bulk over one by one: {bulk / wall / (single / one_wall):.0f}x wall, "
        f"{bulk / cpu / (single / one_cpu):.0f}x CPU"
    )


if __name__ == "__main__":
    main()
