"""Pruning a black-box study: a learning-curve benchmark replayed from the seed KB's curves.

A user's own training loop reports its values epoch by epoch under an objective of its own
("value"), which the knowledge base's curve model cannot judge; the default pruner then judges
trials by the study's own curves (`EnvelopePruner`). This replays that case without training,
as tabular learning-curve benchmarks (LCBench and the like) do: each dataset of the shipped seed
(`recommender/data/seed_kb/`, 242 datasets, about 58 runs each, curves cut at `--max-epochs`) is
one task over five numeric hyperparameters under a user's own names (lr, wd, drop, units,
layers; `benchmarks.blackbox_transfer.SPACE`). A configuration the study asks for is answered
by the task's nearest recorded run (in the space's unit cube): its learning curve is told to
the study's epoch callback epoch by epoch, as a training loop would, until the pruner stops it.

Every pruner sees the same random proposals (`RandomSearcher`, seeded), so what differs
between them is the pruner alone. For each task, seed and pruner, `--budget` trials through
`create_study(..., objective="value", pruner=make_pruner(name, objective="value"))`, the pruner
a user gets by name: "learned" (the default, which without a model for "value" judges by
`EnvelopePruner`), "median", "asha", and "none". Printed per pruner: mean normalised regret of
the best finished trial (0 = the task's best run, 1 = its worst) at 10, 20 and `--budget` trials,
epochs trained against "none", and the stopped trials that would have become the incumbent;
then, against "none" on the same tasks and seeds, how often the pruned search is better, level
or worse at each budget. Tasks are split by name into two halves (`--half dev|test|all`): a
setting chosen on one half is reported on the other.

    python benchmarks/blackbox_pruning.py                         # all 242 tasks, 2 seeds
    python benchmarks/blackbox_pruning.py --half dev --slack 1 2  # the envelope's slack
    python benchmarks/blackbox_pruning.py --quick                 # 12 tasks, 1 seed
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from benchmarks.blackbox_transfer import NAMES, SPACE, unit  # noqa: E402
from hpo_common.errors import InputError  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender import blackbox_dataset, open_study  # noqa: E402
from recommender._kb import SEED_KB_DIR  # noqa: E402
from recommender._wiring import make_pruner  # noqa: E402
from recommender.search import EnvelopePruner, LearnedPruner, Searcher  # noqa: E402

PRUNERS = ("none", "learned", "median", "asha")
CHECKPOINTS = (10, 20)


class Task:
    """One seed dataset's runs as a learning-curve benchmark."""

    def __init__(self, name: str, runs: pd.DataFrame, curves: dict[str, np.ndarray]) -> None:
        self.name = name
        self.direction = str(runs["direction"].iloc[0])
        self.sign = 1.0 if self.direction == "maximize" else -1.0
        self.curves = [curves.get(run_id, np.zeros(0)) for run_id in runs["id"]]
        self.ok = [
            status == "ok" and np.isfinite(c).any()
            for status, c in zip(runs["status"], self.curves, strict=True)
        ]
        # A run's final value: the best of its (cut) curve, oriented so that higher is better.
        self.finals = np.array(
            [self.sign * np.nanmax(self.sign * c) if ok else np.nan
             for ok, c in zip(self.ok, self.curves, strict=True)]
        )  # fmt: skip
        oriented = self.sign * self.finals[np.isfinite(self.finals)]
        self.best, self.worst = oriented.max(), oriented.min()
        self.lookup = NearestNeighbors(n_neighbors=1).fit(unit(runs))

    def nearest(self, config: dict) -> int:
        return int(self.lookup.kneighbors(unit(pd.DataFrame([config])))[1][0, 0])

    def score(self, configs: list[dict]) -> np.ndarray:
        """Oriented final value (higher is better) of each configuration's nearest run; a run
        that failed scores the task's worst."""
        finals = np.array([self.sign * self.finals[self.nearest(c)] for c in configs])
        return np.where(np.isfinite(finals), finals, self.worst)

    def regret(self, oriented_final: float) -> float:
        if not np.isfinite(oriented_final):
            return 1.0
        return float(np.clip((self.best - oriented_final) / (self.best - self.worst), 0.0, 1.0))


def load_tasks(max_epochs: int) -> list[Task]:
    runs = pd.read_parquet(SEED_KB_DIR / "runs.parquet").rename(columns=NAMES)
    curves = pd.read_parquet(
        SEED_KB_DIR / "curves.parquet", columns=["run_id", "epoch", "val_metric"]
    )
    curves = curves[curves["epoch"] <= max_epochs].sort_values(["run_id", "epoch"])
    by_run = {k: g["val_metric"].to_numpy(float) for k, g in curves.groupby("run_id")}
    tasks = [Task(str(name), group, by_run) for name, group in runs.groupby("dataset_id")]
    return [t for t in tasks if t.best > t.worst]


def half_of(task: Task) -> str:
    """ "dev" or "test", fixed by the task's name."""
    return "dev" if hashlib.sha256(task.name.encode()).digest()[0] % 2 == 0 else "test"


def add_task_arguments(parser: argparse.ArgumentParser, min_budget: int = 1) -> None:
    """The replay's options that pick its tasks and searches (shared with `blackbox_cold`)."""
    parser.add_argument("--budget", type=whole_number(min_budget), default=40)
    parser.add_argument("--seeds", type=whole_number(1), default=2)
    parser.add_argument("--max-epochs", type=whole_number(1), default=50)
    parser.add_argument("--half", choices=("dev", "test", "all"), default="all")
    parser.add_argument(
        "--tasks", type=whole_number(0), default=0, help="at most this many (0: all)"
    )


def selected_tasks(args: argparse.Namespace) -> list[Task]:
    """The tasks `add_task_arguments`' options select: curves cut at `--max-epochs`, one half
    (or all), at most `--tasks`."""
    tasks = [t for t in load_tasks(args.max_epochs) if args.half in ("all", half_of(t))]
    return tasks[: args.tasks or None]


def search(
    task: Task,
    pruner_name: str,
    seed: int,
    budget: int,
    envelope: EnvelopePruner,
    strategy: str | Searcher = "random",
) -> dict:
    """One study of `budget` trials, a new study in an empty KB (as `Recommender.study(name=...)`
    opens one); its regret after each trial and its epochs."""
    pruner = make_pruner(pruner_name, objective="value")
    if isinstance(pruner, LearnedPruner):
        pruner = dataclasses.replace(pruner, fallback=envelope)
    study = open_study(
        KnowledgeBase(":memory:"), SPACE, blackbox_dataset(task.name), objective="value",
        direction=task.direction, strategy=strategy, seed=seed, budget=budget, pruner=pruner,
        persist=False,
    )  # fmt: skip
    regrets, spent, epochs, lost, best = [], [], 0, 0, -np.inf
    for _ in range(budget):
        config = study.ask()
        assert config is not None  # random and surrogate search always have a next one
        run = task.nearest(config)
        curve = task.curves[run]
        callback = study.epoch_callback(config)
        stopped = None
        for epoch, value in enumerate(curve, start=1):
            if callback is not None and callback(epoch, float(value)) is True:
                stopped = epoch
                break
        told = curve[:stopped] if stopped else curve
        epochs += len(told)
        final = task.sign * task.finals[run]
        if stopped:
            lost += bool(final > best)
            status = "pruned"
        else:
            status = "ok" if task.ok[run] else "diverged"
            if status == "ok":
                best = max(best, final)
        finite = told[np.isfinite(told)]
        value = task.sign * np.max(task.sign * finite) if finite.size else None
        study.tell(config, value=value, status=status, curve=[float(v) for v in told])
        regrets.append(task.regret(best))
        spent.append(epochs)
    return {"regret": regrets, "spent": spent, "epochs": epochs, "lost": lost}


def regret_within(row: dict, epochs: int) -> float:
    """The search's regret after its last trial that ends within `epochs` epochs in all."""
    done = np.searchsorted(row["spent"], epochs, side="right")
    return row["regret"][done - 1] if done else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_task_arguments(parser)
    parser.add_argument("--slack", type=float, nargs="+", default=[EnvelopePruner().slack])
    parser.add_argument(
        "--startup", type=whole_number(1), default=EnvelopePruner().n_startup_trials
    )
    parser.add_argument(
        "--strategy", choices=("random", "surrogate"), default="random",
        help="random: the same proposals for every pruner; surrogate: a study's default",
    )  # fmt: skip
    parser.add_argument(
        "--rules", nargs="*", choices=("median", "asha"), default=["median", "asha"],
        help="the rule-based pruners to run beside none and learned",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="12 tasks, 1 seed, 20 trials")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.seeds, args.budget = 12, 1, 20
    warnings.filterwarnings("ignore", category=UserWarning)  # "learns nothing from the KB"

    tasks = selected_tasks(args)
    # (label, pruner name, the learned pruner's fallback)
    variants = [("none", "none", EnvelopePruner())]
    for slack in args.slack:
        try:
            envelope = EnvelopePruner(n_startup_trials=args.startup, slack=slack)
        except InputError as error:
            parser.error(str(error))
        variants.append((f"learned (slack {slack:g})", "learned", envelope))
    variants += [(name, name, EnvelopePruner()) for name in args.rules]
    results: dict[str, list[dict]] = {label: [] for label, _, _ in variants}
    for i, task in enumerate(tasks, 1):
        for seed in range(args.seeds):
            for label, name, envelope in variants:
                row = search(task, name, seed, args.budget, envelope, args.strategy)
                results[label].append(row)
        print(f"[{i}/{len(tasks)}] {task.name}", file=sys.stderr, flush=True)

    report(results, args, len(tasks))


def report(results: dict[str, list[dict]], args: argparse.Namespace, n_tasks: int) -> None:
    """Per pruner: regret at trial counts and at the epochs "none" spends on half the budget,
    epochs, incumbents lost; each against "none" on the same tasks and seeds."""
    checkpoints = [c for c in CHECKPOINTS if c < args.budget] + [args.budget]
    half = args.budget // 2
    base = results["none"]
    base_epochs = sum(r["epochs"] for r in base)

    def columns(rows: list[dict]) -> np.ndarray:
        """tasks x seeds by (regret at each checkpoint, regret at none's epochs of `half`)."""
        at_trials = np.array([[r["regret"][c - 1] for c in checkpoints] for r in rows])
        at_epochs = [
            regret_within(r, b["spent"][half - 1]) for r, b in zip(rows, base, strict=True)
        ]
        return np.column_stack([at_trials, at_epochs])

    proposals = "random (the same for every pruner)" if args.strategy == "random" else "surrogate"
    print(f"\n{n_tasks} tasks ({args.half}) x {args.seeds} seeds, {args.budget} trials, "
          f"{proposals}, curves cut at {args.max_epochs} epochs")  # fmt: skip
    names = [f"@{c} trials" for c in checkpoints] + [f"@epochs of none's {half}"]
    print("| pruner | " + " | ".join(f"regret {n}" for n in names) + " | epochs vs none "
          "| would-be incumbents stopped | " + " | ".join(f"vs none {n} (better/level/worse)"
          for n in names) + " |")  # fmt: skip
    reference = columns(base)
    for label, rows in results.items():
        figures = columns(rows)
        diff = figures - reference
        paired = [f"{(d < 0).sum()}/{(d == 0).sum()}/{(d > 0).sum()}" for d in diff.T]
        share = sum(r["epochs"] for r in rows) / base_epochs
        lost = sum(r["lost"] for r in rows)
        print(f"| {label} | " + " | ".join(f"{m:.4f}" for m in figures.mean(axis=0))
              + f" | {share:.1%} | {lost} | " + " | ".join(paired) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
