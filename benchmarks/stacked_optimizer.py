"""The stacked optimizer's two update paths, side by side: whole-buffer kernels over the group's
`[K, P]` parameters against one fused kernel call per member (what `FUSED_FROM` chooses between).

Each family (sgd, adam and adagrad with their fused kernels, rmsprop with torch's single-tensor
update; adamw is adam's kernel) steps K members of P parameters each,
with per-member learning rates and weight decay; the two paths alternate per repeat in one
process and the table gives the median microseconds per step.

    python benchmarks/stacked_optimizer.py                  # K = 8, P = 2^11 .. 2^20
    python benchmarks/stacked_optimizer.py --k 32 --repeats 7 --families rmsprop
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from training import TrainConfig, _stacked_optim  # noqa: E402

SIZES = (2**11, 2**12, 2**13, 2**15, 2**17, 2**20)
FAMILIES = ("sgd", "adam", "adagrad", "rmsprop")


def step_seconds(family: str, k: int, size: int, fused: bool) -> float:
    """Seconds per step of one `StackedOptimizer` (after two warm-up steps)."""
    _stacked_optim.FUSED_FROM[family] = 0 if fused else 2**62
    configs = [
        TrainConfig(optimizer=family, learning_rate=1e-3 * (i + 1), weight_decay=1e-4 * i)
        for i in range(k)
    ]
    optimizer = _stacked_optim.StackedOptimizer(configs, torch.device("cpu"))
    p, g = torch.randn(k, size), torch.randn(k, size)
    lr = torch.tensor([c.learning_rate for c in configs])
    lrs = lr.tolist()
    steps = max(3, int(2e7 / (k * size)))
    for _ in range(2):
        optimizer.step(p, g, lr, lrs)
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.step(p, g, lr, lrs)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=whole_number(1), default=8, help="members")
    parser.add_argument("--repeats", type=whole_number(1), default=3)
    parser.add_argument("--threads", type=whole_number(1), default=1, help="torch threads")
    parser.add_argument(
        "--families", nargs="+", default=list(FAMILIES), choices=FAMILIES, help="optimizers"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch={torch.__version__} threads={torch.get_num_threads()} K={args.k}")
    print(f"{'family':>8}{'P':>9}{'buffer us':>11}{'fused us':>10}{'fused speed-up':>16}")
    for family in args.families:
        for size in SIZES:
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeats):
                for fused in (False, True):
                    times[fused].append(step_seconds(family, args.k, size, fused))
            buffer, fused = (statistics.median(times[f]) * 1e6 for f in (False, True))
            print(f"{family:>8}{size:>9}{buffer:>11.0f}{fused:>10.0f}{buffer / fused:>15.2f}x")


if __name__ == "__main__":
    main()
