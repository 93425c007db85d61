"""Transfer between black-box studies without meta-features: leave-one-task-out on the seed KB.

Each seed dataset's 40 runs are one black-box task over five numeric hyperparameters
(learning_rate, weight_decay, dropout, width, n_layers, under a user's own names lr, wd, drop,
units, layers): no meta-features, only configurations and the value told (log loss to minimise or
R^2 to maximise, as each task has it). A held-out task's objective is replayed through a k-nearest-
neighbour regressor fitted on that task's own runs (diverged runs count as its worst value); the
other tasks are stored as black-box studies in a fresh DuckDB KB with `Study.tell_many`. For each
held-out task and seed, four searches of `--budget` trials:

- study: a black-box study as `Recommender.study(name=...)` opens it (`open_study`, with the
  KB's view leaving the held-out task out), the default strategy (surrogate), its warm start
  and prior built by `recommender._wiring` from the other tasks' studies; it is not stored
  (`persist=False`), so no held-out study (another seed of the same task) becomes a source;
- random: the space's prior;
- TPE: Optuna's TPESampler (seeded);
- portfolio + random: a greedy zero-shot portfolio of 10 configurations of the other tasks (each
  next pick the one that most lowers the mean regret over the other tasks, scored through their
  replay regressors), then random samples. It sees exactly the earlier studies the study sees
  (every task but the held-out one), nothing of the held-out task.

Regret is normalised per task: (best possible - best so far) / (best possible - worst), over a
reference pool of 5,000 random points and the task's own runs. Printed: mean over tasks and seeds
at 1, 5, 10, 20, 50 trials; then, per budget, the study against each other method on the same
held-out runs: how many runs it is better / tied / worse on, and a 95% paired bootstrap interval
of the mean difference (study - other; below 0 is the study better), so that a difference of
0.0001 in the means is read against its spread.

    python benchmarks/blackbox_transfer.py                 # 62 tasks, 2 seeds, 50 trials
    python benchmarks/blackbox_transfer.py --tasks 20 --seeds 1
    python benchmarks/blackbox_transfer.py --quick         # 6 tasks, 1 seed, 20 trials
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsRegressor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from benchmarks._seed_kb import FIRST_SEED_KB  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender import SearchSpace, blackbox_dataset, open_study  # noqa: E402
from recommender.learn import load_view  # noqa: E402
from recommender.search import RandomSearcher, Searcher  # noqa: E402
from recommender.study import create_study  # noqa: E402

SEED_RUNS = FIRST_SEED_KB / "runs.parquet"  # the 62 datasets its recorded figures used
# The user's own names (not TrainConfig's), so nothing shipped with the package knows them:
# whatever the study knows of them it learns from the earlier studies in the KB.
NAMES = {
    "learning_rate": "lr",
    "weight_decay": "wd",
    "dropout": "drop",
    "width": "units",
    "n_layers": "layers",
}
SPACE = SearchSpace.from_dict(
    {
        "parameters": {
            "lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
            "wd": {"type": "float", "low": 1e-7, "high": 1e-2, "log": True, "p_zero": 0.25},
            "drop": {"type": "float", "low": 0.0, "high": 0.5},
            "units": {"type": "int", "low": 16, "high": 1024, "log": True},
            "layers": {"type": "int", "low": 1, "high": 5},
        }
    }
)
BUDGETS = (1, 5, 10, 20, 50)
PORTFOLIO = 10
RESAMPLES = 10_000  # of the paired bootstrap


class Task:
    """One seed dataset's runs as a black-box objective, replayed by a kNN regressor."""

    def __init__(self, name: str, runs: pd.DataFrame, pool: np.ndarray) -> None:
        self.name = name
        self.direction = str(runs["direction"].iloc[0])
        self.sign = 1.0 if self.direction == "maximize" else -1.0
        oriented = self.sign * runs["value"].astype(float).to_numpy()
        ok = np.isfinite(oriented) & (runs["status"] == "ok").to_numpy()
        oriented = np.where(ok, oriented, oriented[ok].min())  # diverged: the task's worst
        self.runs = runs.assign(value=self.sign * oriented)
        self.model = KNeighborsRegressor(n_neighbors=5, weights="distance")
        self.model.fit(unit(runs), oriented)
        reference = np.concatenate([self.model.predict(pool), oriented])
        self.best, self.worst = reference.max(), reference.min()

    def score(self, configs: pd.DataFrame | list[dict[str, Any]]) -> np.ndarray:
        """Oriented value (higher is better) of configurations."""
        return self.model.predict(unit(pd.DataFrame(configs)))

    def gain(self, points: np.ndarray) -> np.ndarray:
        """1 - normalised regret of points of the unit cube (1 = the task's best)."""
        return (self.model.predict(points) - self.worst) / (self.best - self.worst)

    def regret(self, oriented: np.ndarray) -> np.ndarray:
        """Normalised regret of the best so far after each trial."""
        best = np.maximum.accumulate(oriented)
        return np.clip((self.best - best) / (self.best - self.worst), 0.0, 1.0)


def unit(frame: pd.DataFrame) -> np.ndarray:
    """Configurations in the unit cube of `SPACE` (log scales as they are searched)."""
    return np.column_stack(
        [[dist.to_unit(v) for v in frame[name]] for name, dist in SPACE.parameters.items()]
    )


def load_tasks(pool: np.ndarray) -> list[Task]:
    runs = pd.read_parquet(SEED_RUNS)
    runs = runs.rename(columns=NAMES)
    return [Task(str(name), group, pool) for name, group in runs.groupby("dataset_id")]


def build_kb(tasks: list[Task]) -> KnowledgeBase:
    """Every task as an earlier black-box study (no meta-features), loaded with tell_many."""
    kb = KnowledgeBase(":memory:")
    for task in tasks:
        study = create_study(
            kb,
            SPACE,
            blackbox_dataset(task.name),
            searcher=RandomSearcher(SPACE),
            objective="value",
            direction=task.direction,
        )
        study.tell_many(task.runs[[*SPACE.names, "value"]])
    return kb


def run_study(
    kb: KnowledgeBase, task: Task, budget: int, seed: int, strategy: str | Searcher = "surrogate"
) -> np.ndarray:
    """The study's values on `task`, every other study in `kb` an earlier one (an empty `kb`:
    a user's first study)."""
    view = load_view(kb).without(blackbox_dataset(task.name).id)
    study = open_study(
        kb,
        SPACE,
        blackbox_dataset(f"{task.name} held out {seed}"),
        direction=task.direction,
        strategy=strategy,
        seed=seed,
        budget=budget,
        view=view,
        persist=False,
    )
    values = []
    for _ in range(budget):
        config = study.ask()
        value = float(task.score([config])[0])
        study.tell(config, value=task.sign * value)
        values.append(value)
    return np.array(values)


def run_random(task: Task, budget: int, seed: int) -> np.ndarray:
    return task.score(SPACE.sample(budget, seed))


def run_tpe(task: Task, budget: int, seed: int) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    values = []
    for _ in range(budget):
        trial = study.ask()
        config = {
            "lr": trial.suggest_float("lr", 1e-5, 1.0, log=True),
            "wd": trial.suggest_float("wd", 1e-7, 1e-2, log=True),
            "drop": trial.suggest_float("drop", 0.0, 0.5),
            "units": trial.suggest_int("units", 16, 1024, log=True),
            "layers": trial.suggest_int("layers", 1, 5),
        }
        value = float(task.score([config])[0])
        study.tell(trial, value)
        values.append(value)
    return np.array(values)


def greedy_portfolio(others: list[Task], size: int) -> list[dict[str, Any]]:
    """Configurations of the other tasks, picked greedily to lower their mean regret."""
    candidates = pd.concat([t.runs[list(SPACE.names)] for t in others], ignore_index=True)
    candidates = candidates.drop_duplicates().reset_index(drop=True)
    points = unit(candidates)
    gains = np.stack([t.gain(points) for t in others], axis=1)  # candidates x tasks
    chosen: list[int] = []
    best = np.zeros(len(others))
    for _ in range(size):
        index = int(np.argmax(np.maximum(gains, best).mean(axis=1)))
        chosen.append(index)
        best = np.maximum(best, gains[index])
    return [SPACE.project(candidates.iloc[i].to_dict()) for i in chosen]


def run_portfolio(task: Task, others: list[Task], budget: int, seed: int) -> np.ndarray:
    configs = greedy_portfolio(others, PORTFOLIO)[:budget]
    configs += SPACE.sample(budget - len(configs), seed)
    return task.score(configs)


def paired(study: np.ndarray, other: np.ndarray, seed: int = 0) -> str:
    """Better/tied/worse counts of `study` against `other` (same held-out runs) and a 95%
    bootstrap interval of the mean difference."""
    diff = study - other
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (RESAMPLES, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    counts = f"{(diff < 0).sum()}/{(diff == 0).sum()}/{(diff > 0).sum()}"
    return f"{counts:>9} {diff.mean():+.4f} [{low:+.4f}, {high:+.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=whole_number(2), default=62, help="held-out tasks")
    parser.add_argument("--seeds", type=whole_number(1), default=2)
    parser.add_argument("--budget", type=whole_number(1), default=50)
    parser.add_argument("--quick", action="store_true", help="6 tasks, 1 seed, 20 trials")
    args = parser.parse_args()
    n_tasks, seeds, budget = (6, 1, 20) if args.quick else (args.tasks, args.seeds, args.budget)
    warnings.simplefilter("ignore")  # the "learns nothing" note, once per held-out study
    tasks = load_tasks(unit(pd.DataFrame(SPACE.sample(5000, 12345))))
    kb = build_kb(tasks)
    held_out = tasks[:: max(1, len(tasks) // n_tasks)][:n_tasks]
    methods: dict[str, Callable[[Task, int], np.ndarray]] = {
        "study (surrogate)": lambda t, s: run_study(kb, t, budget, s),
        "random": lambda t, s: run_random(t, budget, s),
        "Optuna TPE": lambda t, s: run_tpe(t, budget, s),
        "portfolio + random": lambda t, s: run_portfolio(
            t, [o for o in tasks if o is not t], budget, s
        ),
    }
    regrets: dict[str, list[np.ndarray]] = {name: [] for name in methods}
    for i, task in enumerate(held_out):
        for seed in range(seeds):
            for name, method in methods.items():
                regrets[name].append(task.regret(method(task, seed)))
        print(f"task {i + 1}/{len(held_out)} done", file=sys.stderr, flush=True)
    shown = [b for b in BUDGETS if b <= budget]
    print(
        f"mean normalised regret, {len(held_out)} held-out tasks x {seeds} seeds (lower is better)"
    )
    print(f"{'method':<20}" + "".join(f"{f'@{b}':>8}" for b in shown))
    for name, rows in regrets.items():
        mean = np.mean(rows, axis=0)
        print(f"{name:<20}" + "".join(f"{mean[b - 1]:>8.4f}" for b in shown))
    study, *others = regrets
    print(f"\n{study} against each method, per held-out run: better/tied/worse, mean difference")
    print("(study - other) and its 95% paired bootstrap interval")
    for name in others:
        for b in shown:
            mine = np.array([r[b - 1] for r in regrets[study]])
            theirs = np.array([r[b - 1] for r in regrets[name]])
            print(f"{name:<20}{f'@{b}':>5}  {paired(mine, theirs)}")


if __name__ == "__main__":
    main()
