"""Configurations trained per hour: `train_many` against sequential `train` and a plain
DataLoader loop, side by side in one run.

Each case is K configurations of the default space, trained for the same epochs (patience off)
on a synthetic binary table (20 features, 80/20 split) of each size, in five mixes. In the first
three the recipe elements (preprocessing, target transform, embeddings, label smoothing,
ensembles) are held at their defaults (`RECIPE_DEFAULTS`), as before they
stacked; the `space` mixes leave them free.

- `random`: K independent samples of the default space (few share a training group);
- `tune`: K configurations as `tune` proposes a batch (`recommender.search.ask_batch` on a
  random searcher: a sample, then neighbours sharing its `GROUP_FIELDS`), so they train as one
  stacked model;
- `widths`: as `tune`, but each member's width drawn anew (half to twice the lead's), so
  members are zero-padded into shared groups where that pays (`training.batched.plan_groups`);
  `train_many` also runs with `pad_widths=False` (one group per width) and the `no pad` column
  gives padded / exact-width speed;
- `space`: batches of `--batch` configurations as `tune --batch` proposes them on the default
  space with its recipe elements free (`ask_batch` sharing the lead's `training.BATCH_FIELDS`),
  each batch one `train_many` call, as `tune` makes them; `space-old`: the same, sharing only the
  lead's `GROUP_FIELDS`, as `tune` proposed batches before the recipe elements were shared.

The methods alternate per case and per repeat in one process, so machine noise hits them alike;
throughputs are medians of `--repeats`, and each ratio is the median of the per-repeat ratios.
`bound` is the share of sequential `train`'s time spent on compute-bound members (a step above
the fixed cost of a stacked step, `training.batched.overhead_bound`): stacking removes fixed
costs, so on a CPU it gains little on that share.
The plain loop is the one most tutorials write (`DataLoader(TensorDataset)`, the config's
optimizer, no schedule, accuracy per epoch); it runs a plain MLP, so the `space` mixes leave it out.

    python benchmarks/train_many.py            # 500, 5,000, 50,000 rows; K = 1, 8, 32, 128
    python benchmarks/train_many.py --quick    # smoke version (seconds)
    python benchmarks/train_many.py --rows 500 5000 --k 8 32 --mix tune widths --repeats 7
    python benchmarks/train_many.py --rows 500 --k 64 --mix space space-old --no-plain
    python benchmarks/train_many.py --rows 500 --k 240 --mix space space-old --groups-only
    python benchmarks/train_many.py --rows 500 --k 240 --mix space --stacked-only --no-plain
    python benchmarks/train_many.py --rows 500 --k 240 --mix space --stacked-only --no-plain \
        --per-batch --repeats 2
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import make_classification
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import available_device, whole_number  # noqa: E402
from recommender.search import RandomSearcher, ask_batch  # noqa: E402
from recommender.space import default_space  # noqa: E402
from training import (  # noqa: E402
    BATCH_FIELDS,
    GROUP_FIELDS,
    PreparedData,
    TrainConfig,
    build_model,
    load_table,
    prepare,
    train,
    train_many,
)
from training.batched import (  # noqa: E402
    RECIPE_FIELDS,
    STRUCTURE_FIELDS,
    overhead_bound,
    plan_groups,
)
from training.model import build_optimizer  # noqa: E402

HOUR = 3600.0
# Every recipe element at its default: what the stacked model implemented before they stacked.
RECIPE_DEFAULTS = {
    name: getattr(TrainConfig(), name) for name in (*RECIPE_FIELDS, *STRUCTURE_FIELDS)
}


def table(rows: int) -> PreparedData:
    x, y = make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(y=y)
    return prepare(load_table(frame, target="y"))  # `prepare`d: recipes can be refitted


def recipe_free(mix: str) -> bool:
    """The `space` mixes leave the recipe elements free (ensembles, embeddings, ...), in batches
    as `tune --batch` makes them; the others hold them at `RECIPE_DEFAULTS`."""
    return mix.startswith("space")


def batches_for(mix: str, k: int, epochs: int, seed: int, batch: int) -> list[list[TrainConfig]]:
    """K configurations of the default space (see the module docstring), `epochs` each, as the
    batches that are each one `train_many` call."""
    space = default_space()
    fixed = {"max_epochs": epochs, "patience": 0}
    if not recipe_free(mix):
        fixed |= RECIPE_DEFAULTS
    shared = BATCH_FIELDS if mix == "space" else GROUP_FIELDS
    size = batch if recipe_free(mix) else k
    if mix == "random":
        groups = [space.sample(k, np.random.default_rng(seed))]
    else:
        searcher, groups, n = RandomSearcher(space, seed=seed), [], 0
        while n < k:  # a lead with too few neighbours leaves room for the next
            points = ask_batch(searcher, min(size, k - n), shared)
            n += len(points)
            if groups and not recipe_free(mix):
                groups[0] += points  # one train_many call for all K
            else:
                groups.append(points)
    out = [[TrainConfig.from_dict({**p, **fixed}) for p in points] for points in groups]
    if mix == "widths":
        rng = np.random.default_rng(seed)
        out = [
            [dataclasses.replace(c, width=int(c.width * 2 ** rng.uniform(-1, 1))) for c in configs]
            for configs in out
        ]
    return out


def plain_loop(config: TrainConfig, data: PreparedData, device: str) -> int:
    """The loop most tutorials write: batches from a DataLoader, moved to `device` one by one.

    Returns the last epoch's correct validation answers."""
    torch.manual_seed(0)
    model = build_model(config, data.x_train.shape[1], data.n_classes).to(device)
    optimizer = build_optimizer(config, model.parameters(), torch.device(device))
    loss_fn = torch.nn.CrossEntropyLoss()
    train_set = TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    val_set = TensorDataset(torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    # batch norm cannot normalise a last batch of one row: drop it, as `train` does
    single = config.batch_norm and len(train_set) % config.batch_size == 1
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, drop_last=single)
    correct = 0
    for _ in range(config.max_epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            correct = sum(
                int((model(xb.to(device)).argmax(1) == yb.to(device)).sum().item())
                for xb, yb in DataLoader(val_set, batch_size=1024)
            )
    return correct


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def compare(
    batches: list[list[TrainConfig]],
    data: PreparedData,
    device: str,
    repeats: int,
    runs: list[str],
) -> tuple[dict[str, list[float]], list[float]]:
    """Wall seconds of each method in `runs` on `batches`, per repeat, alternating so drifting
    load hits all; and per repeat, the `compute_bound_share` of sequential `train`'s time."""
    configs = [c for batch in batches for c in batch]
    bound = [not overhead_bound(c, data, device) for c in configs]
    shares: list[float] = []

    def sequential() -> None:
        solo = [timed(lambda c=c: train(c, data, device=device)) for c in configs]
        shares.append(compute_bound_share(solo, bound))

    methods: dict[str, Callable[[], object]] = {
        "seq": sequential,
        "many": lambda: [train_many(b, data, device=device) for b in batches],
        "nopad": lambda: [train_many(b, data, device=device, pad_widths=False) for b in batches],
        "loop": lambda: [plain_loop(c, data, device) for c in configs],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name in runs:
            times[name].append(timed(methods[name]))
    return times, shares


def compute_bound_share(solo: list[float], compute_bound: list[bool]) -> float:
    """The share of sequential `train`'s time spent on compute-bound members (each step above a
    stacked step's fixed cost, `training.batched.overhead_bound`): stacking saves the fixed
    costs of the others, while these do the same FLOPs stacked or not on a CPU."""
    return sum(t for t, b in zip(solo, compute_bound, strict=True) if b) / sum(solo)


def ratio(times: dict[str, list[float]], slow: str, fast: str) -> str:
    """Median over repeats of `slow`'s time / `fast`'s time, or "-" when one was not run."""
    if slow not in times or fast not in times:
        return "-"
    return f"{statistics.median(a / b for a, b in zip(times[slow], times[fast], strict=True)):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke version")
    parser.add_argument(
        "--device", type=available_device, default="cpu", help="device of train and train_many"
    )
    parser.add_argument("--repeats", type=whole_number(1), default=3)
    parser.add_argument("--epochs", type=whole_number(1), default=2)
    parser.add_argument("--rows", type=whole_number(10), nargs="+", default=[500, 5000, 50000])
    parser.add_argument("--k", type=whole_number(1), nargs="+", default=[1, 8, 32, 128])
    parser.add_argument(
        "--max-work",
        type=float,
        default=2e6,
        help="skip a case whose K x training rows exceed this (time on 2 cores)",
    )
    parser.add_argument(
        "--mix",
        nargs="+",
        default=["random", "tune"],
        choices=["random", "tune", "widths", "space", "space-old"],
    )
    parser.add_argument(
        "--batch", type=whole_number(1), default=8, help="configurations per batch (space mixes)"
    )
    parser.add_argument("--no-plain", action="store_true", help="leave out the plain loop")
    parser.add_argument(
        "--groups-only", action="store_true", help="count the stacked models, train nothing"
    )
    parser.add_argument("--per-batch", action="store_true", help="one row per batch (space mixes)")
    parser.add_argument(
        "--stacked-only",
        action="store_true",
        help="keep only the batches that stack (fewer stacked models than members)",
    )
    parser.add_argument(
        "--threads",
        type=whole_number(0),
        default=1,
        help="torch threads for all three (0: torch's default); 1 keeps a "
        "shared machine's load from hitting one method more than another",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, ks, epochs = args.rows, args.k, args.epochs
    if args.quick:
        rows, ks, epochs = [500], [1, 8], 1
    print(
        f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"cpus={torch.multiprocessing.cpu_count()} epochs={epochs} repeats={args.repeats}"
    )
    print(
        f"{'rows':>7}{'mix':>10}{'K':>5}{'groups':>7}{'DataLoader/h':>14}{'train()/h':>11}"
        f"{'train_many/h':>14}{'vs train':>9}{'vs loop':>9}{'no pad':>8}{'bound':>8}"
    )
    for n_rows in rows:
        data = table(n_rows)
        train(TrainConfig(max_epochs=1), data, device=args.device)  # untimed: lazy init
        for mix in args.mix:
            for k in ks:
                if k * len(data.x_train) > args.max_work:
                    print(f"{n_rows:>7,}{mix:>10}{k:>5}  skipped (K x rows > --max-work)")
                    continue
                batches = batches_for(mix, k, epochs, seed=k, batch=args.batch)
                if args.stacked_only:
                    batches = [
                        b for b in batches if len(plan_groups(b, data, device=args.device)) < len(b)
                    ]
                for case in [[b] for b in batches] if args.per_batch else [batches]:
                    run_case(case, data, n_rows, mix, args)


def run_case(
    batches: list[list[TrainConfig]],
    data: PreparedData,
    n_rows: int,
    mix: str,
    args: argparse.Namespace,
) -> None:
    """Time `batches` (each one `train_many` call) and print their row of the table."""
    k = sum(len(b) for b in batches)
    groups = sum(len(plan_groups(b, data, device=args.device)) for b in batches)
    if args.groups_only:
        print(f"{n_rows:>7,}{mix:>10}{k:>5}{groups:>7}  ({len(batches)} batches)")
        return
    # the plain loop builds a plain MLP: a free recipe's ensembles and embeddings are not one
    runs = ["seq", "many"] + ["loop"] * (not args.no_plain and not recipe_free(mix))
    runs += ["nopad"] * (mix == "widths")
    times, shares = compare(batches, data, args.device, args.repeats, runs)
    per_hour = {name: k * HOUR / statistics.median(t) for name, t in times.items()}
    loop = f"{per_hour['loop']:,.0f}" if "loop" in per_hour else "-"
    lead = batches[0][0]
    shape = f"  {lead.n_layers} x {lead.width}, batch {lead.batch_size}" if args.per_batch else ""
    print(
        f"{n_rows:>7,}{mix:>10}{k:>5}{groups:>7}{loop:>14}{per_hour['seq']:>11,.0f}"
        f"{per_hour['many']:>14,.0f}{ratio(times, 'seq', 'many'):>9}"
        f"{ratio(times, 'loop', 'many'):>9}{ratio(times, 'nopad', 'many'):>8}"
        f"{statistics.median(shares):>8.0%}{shape}",
        flush=True,
    )


if __name__ == "__main__":
    main()
