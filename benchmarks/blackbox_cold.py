"""A user's first black-box study (nothing in the KB to learn from) against random search and
Optuna TPE, on two learning-curve replays of the seed KBs' runs.

- nearest run (`blackbox_pruning`'s tasks: the shipped seed's 242 datasets, about 58 runs each):
  a configuration is answered by the task's nearest recorded run, its best value within
  `--max-epochs`; a search that proposes next to its trials gets one of the same runs again.
- kNN (`blackbox_transfer`'s tasks: the first seed's 62 datasets): a distance-weighted kNN
  regressor over each task's runs, a continuous objective.

Methods: the study as `Recommender.study(name=...)` opens it in an empty KB (the default
strategy, surrogate, on a flat prior; no pruning, so only the proposals differ), the same
searcher without its random start (`n_startup=0`, its default before the random start) and with
each of `--scales` as its `distance_scale`, random search (the space's prior), and Optuna TPE
with its defaults (seeded). Printed per replay: mean
normalised regret of the best so far (0 = the task's best, 1 = its worst) at 1, 5, 10, 20 and
`--budget` trials, and each method against the study at 20 trials and at the budget: runs
(task x seed) where the study is better / level / worse. Tasks are split by name into halves
(`--half`, as in `blackbox_pruning`); the kNN replay always runs all 62.

    python benchmarks/blackbox_cold.py                 # both halves, 2 seeds, 40 trials
    python benchmarks/blackbox_cold.py --half test --scales 1 3 10
    python benchmarks/blackbox_cold.py --replay knn    # one replay (e.g. one per core)
    python benchmarks/blackbox_cold.py --quick         # 12 + 6 tasks, 1 seed, 20 trials
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks import blackbox_pruning as nearest  # noqa: E402
from benchmarks import blackbox_transfer as knn  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender.search import EnvelopePruner, SurrogateSearcher  # noqa: E402
from recommender.settings import SurrogateSettings  # noqa: E402

SCALED = "study, distance_scale "
NO_RANDOM_START = "study, no random start"


def variant_searcher(method: str, seed: int) -> SurrogateSearcher:
    """The study's searcher in an empty KB as `method` varies it: without its random start, or
    with another distance scale."""
    variant = (
        {"n_startup": 0}
        if method == NO_RANDOM_START
        else {"distance_scale": float(method.removeprefix(SCALED))}
    )
    return SurrogateSearcher(
        knn.SPACE, seed=seed, n_candidates=SurrogateSettings().n_candidates, **variant
    )


def strategy_of(method: str, seed: int) -> str | SurrogateSearcher:
    """What a study runs for `method` (not Optuna's)."""
    names = {"study": "surrogate", "random": "random"}
    return names[method] if method in names else variant_searcher(method, seed)


def nearest_run_regrets(task: nearest.Task, method: str, seed: int, budget: int) -> np.ndarray:
    if method == "Optuna TPE":
        best = np.maximum.accumulate(knn.run_tpe(task, budget, seed))  # type: ignore[arg-type]
        return np.array([task.regret(b) for b in best])
    strategy = strategy_of(method, seed)
    row = nearest.search(task, "none", seed, budget, EnvelopePruner(), strategy)
    return np.array(row["regret"])


def knn_regrets(task: knn.Task, method: str, seed: int, budget: int) -> np.ndarray:
    if method == "Optuna TPE":
        return task.regret(knn.run_tpe(task, budget, seed))
    if method == "random":
        return task.regret(knn.run_random(task, budget, seed))
    kb = KnowledgeBase(":memory:")
    return task.regret(knn.run_study(kb, task, budget, seed, strategy_of(method, seed)))


def report(title: str, regrets: dict[str, np.ndarray], budget: int) -> None:
    """Mean regret at each checkpoint, then each method against the study, run by run."""
    checkpoints = [c for c in (1, 5, 10, 20) if c < budget] + [budget]
    paired_at = list(dict.fromkeys(c for c in (20, budget) if c <= budget))
    print(f"\n{title}")
    print("| method | " + " | ".join(f"@{c}" for c in checkpoints) + " | "
          + " | ".join(f"study better / level / worse @{c}" for c in paired_at)
          + " |")  # fmt: skip
    study = regrets["study"]
    for method, rows in regrets.items():
        paired = []
        for c in paired_at:
            diff = study[:, c - 1] - rows[:, c - 1]
            paired.append(f"{(diff < 0).sum()} / {(diff == 0).sum()} / {(diff > 0).sum()}")
        means = " | ".join(f"{rows[:, c - 1].mean():.4f}" for c in checkpoints)
        print(f"| {method} | {means} | " + " | ".join(paired) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    nearest.add_task_arguments(parser, min_budget=2)
    parser.add_argument(
        "--scales", type=float, nargs="*", default=[],
        help="the study's searcher also with these distance scales (1: under a knowledge prior)",
    )  # fmt: skip
    parser.add_argument("--replay", choices=("both", "nearest", "knn"), default="both")
    parser.add_argument("--quick", action="store_true", help="12 + 6 tasks, 1 seed, 20 trials")
    args = parser.parse_args()
    if any(not scale > 0 for scale in args.scales):
        parser.error(f"--scales: each scale must be > 0, but got {args.scales}")
    scaled = (f"{SCALED}{scale:g}" for scale in args.scales)
    methods = ["study", NO_RANDOM_START, *scaled, "random", "Optuna TPE"]
    knn_tasks = 0
    if args.quick:
        args.tasks, args.seeds, args.budget, knn_tasks = 12, 1, 20, 6
    warnings.filterwarnings("ignore", category=UserWarning)  # "learns nothing from the KB"

    replays: list[tuple[str, list, Callable[..., np.ndarray]]] = []
    if args.replay in ("both", "nearest"):
        tasks = nearest.selected_tasks(args)
        title = f"nearest run: {len(tasks)} tasks ({args.half})"
        replays.append((title, tasks, nearest_run_regrets))
    if args.replay in ("both", "knn"):
        pool = knn.unit(pd.DataFrame(knn.SPACE.sample(5000, 12345)))
        tasks = knn.load_tasks(pool)[: knn_tasks or None]
        replays.append((f"kNN: {len(tasks)} tasks", tasks, knn_regrets))
    for title, tasks, regrets_of in replays:
        runs = [(task, seed) for task in tasks for seed in range(args.seeds)]
        regrets = {
            method: np.array([regrets_of(t, method, s, args.budget) for t, s in runs])
            for method in methods
        }
        report(f"{title} x {args.seeds} seeds, {args.budget} trials", regrets, args.budget)


if __name__ == "__main__":
    main()
