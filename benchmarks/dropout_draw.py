"""Dropout's cost per training step: `nn.Dropout` (torch's element-by-element `bernoulli_` on
CPU) and a float uniform draw compared with the rate (the library's draw until December 2026)
against `training.model.Dropout` (16 random bits per unit), the same law, forward and backward
on a hidden layer's activations, side by side in one run.

    python benchmarks/dropout_draw.py                     # rows x width cases, one thread
    python benchmarks/dropout_draw.py --rows 128 --widths 64 512 --repeats 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._args import whole_number  # noqa: E402
from training.model import Dropout  # noqa: E402


def step_seconds(layer: nn.Module, x: torch.Tensor) -> float:
    """One forward and backward pass through `layer`."""
    started = time.perf_counter()
    layer(x).sum().backward()
    return time.perf_counter() - started


class UniformDropout(nn.Module):
    """Inverted dropout from one float uniform draw per unit, compared with the rate."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.empty_like(x).uniform_().ge_(self.rate).div_(1.0 - self.rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=whole_number, nargs="+", default=[128, 1024])
    parser.add_argument("--widths", type=whole_number, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--repeats", type=whole_number, default=30)
    args = parser.parse_args()
    if not 0.0 < args.rate < 1.0:
        parser.error(f"--rate is a dropout probability strictly between 0 and 1, got {args.rate}")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, rate {args.rate}, median of {args.repeats}")
    layers = {"nn.Dropout": nn.Dropout, "uniform": UniformDropout, "Dropout": Dropout}
    print(f"{'rows':>6}{'width':>7}" + "".join(f"{name + ' ms':>15}" for name in layers), end="")
    print(f"{'vs nn.Dropout':>15}{'vs uniform':>12}")
    for rows in args.rows:
        for width in args.widths:
            x = torch.randn(rows, width, requires_grad=True)
            times: dict[str, list[float]] = {name: [] for name in layers}
            for _ in range(args.repeats):  # alternated, so drifting load hits all alike
                for name, layer in layers.items():
                    times[name].append(step_seconds(layer(args.rate), x))
            ms = {name: statistics.median(times[name]) * 1e3 for name in layers}
            print(f"{rows:>6}{width:>7}" + "".join(f"{ms[name]:>15.3f}" for name in layers), end="")
            ratios = (ms["nn.Dropout"] / ms["Dropout"], ms["uniform"] / ms["Dropout"])
            print(f"{ratios[0]:>14.2f}x{ratios[1]:>11.2f}x")


if __name__ == "__main__":
    main()
