"""Search quality, leave-one-dataset-out: anytime normalised regret of `tune`'s strategies and of
Optuna TPE and CMA-ES, all driving the same training engine with the same budget (trials).

For each held-out seed dataset, the knowledge base the strategies learn from is the seed KB minus
that dataset (its runs and meta-features). Every trial trains like the seed runs did (same row cap,
split, seed and epoch cap; no pruning), so its value is comparable with the dataset's seed runs.

Normalised regret of a value v, in the objective's better-is-higher orientation s (s = -v for
log loss, s = v for r2):  (s_best - s(v)) / (s_best - s_median), where s_best and s_median are the
best and the median of the held-out dataset's own seed runs (ok runs). 0 = as good as the best
seed run, 1 = as good as the median one, negative = better than any seed run. A failed or
diverged trial counts as the dataset's worst seed run. Reported: the best-so-far regret after
1, 5, 10 and 20 trials, averaged over datasets and seeds.

`grid` searches `GRID_SPACE` (optimizer x learning rate x batch size x weight decay, 40 cells, the
other hyperparameters at TrainConfig's defaults): a grid over the whole default space has millions
of cells. Every other strategy searches the default space.

    python benchmarks/search_quality.py --datasets islr_oj,mroz_lfp --seeds 2 --budget 20
    python benchmarks/search_quality.py --quick      # one dataset, one seed, 5 trials
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._seed_kb import SEED_BUILD_KB, seed_kb  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender.learn import load_view, objective_for  # noqa: E402
from recommender.space import SearchSpace, default_space  # noqa: E402
from training import TrainConfig, prepare, train  # noqa: E402
from training.metrics import METRIC_DIRECTIONS  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
CHECKPOINTS = (1, 5, 10, 20)
STRATEGIES = ("surrogate", "portfolio", "random", "grid", "evolution", "tpe", "cmaes")
GRID_SPACE = {"parameters": {
    "optimizer": {"type": "categorical", "choices": ["adam", "adamw"]},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True, "levels": 5},
    "batch_size": {"type": "int", "low": 64, "high": 256, "power_of_two": True, "grid": [64, 256]},
    "weight_decay": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True, "p_zero": 0.5,
                     "levels": 1},
}}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One (dataset, strategy, seed): the objective values of its trials, in order."""
    import torch

    torch.set_num_threads(1)
    from scripts.seed_datasets import load_seed_table, seed_datasets

    spec = next(d for d in seed_datasets() if d.name == job["dataset"])
    table = load_seed_table(spec, job["max_rows"])
    data = prepare(table, seed=0)  # the seed build's split
    objective = objective_for(table.task)
    space = default_space()
    started = time.perf_counter()
    if job["strategy"] in OPTUNA_SAMPLERS:
        values = _optuna(data, space, objective, job)
    else:
        if job["strategy"] == "grid":
            space = SearchSpace.from_dict(GRID_SPACE)
        values = _tune_strategy(table, data, space, objective, job)
    return {**job, "values": values, "seconds": time.perf_counter() - started}


def _train_value(config: dict[str, Any], data: Any, objective: str, max_epochs: int) -> float:
    cfg = TrainConfig.from_dict(config)
    cfg = cfg.replace(max_epochs=min(cfg.max_epochs, max_epochs))
    result = train(cfg, data, device="cpu", seed=0, metric=objective)
    return result.value if result.status in ("ok", "pruned") else math.nan


def _tune_strategy(table: Any, data: Any, space: Any, objective: str, job: dict) -> list[float]:
    from knowledge_base import DatasetRecord
    from recommender import open_study
    from recommender.executors import SequentialExecutor
    from recommender.tune import run_study

    view = load_view(KnowledgeBase(job["kb"]), objective).without(table.fingerprint)
    full_meta = KnowledgeBase(job["kb"]).meta_features([table.fingerprint])
    features = full_meta.iloc[0].dropna().to_dict() if len(full_meta) else {}
    study = open_study(
        KnowledgeBase(":memory:"), space, DatasetRecord.from_table(table), meta_features=features,
        objective=objective, direction=METRIC_DIRECTIONS[objective], strategy=job["strategy"],
        warm_start=5, budget=job["budget"], seed=job["seed"], max_epochs=job["max_epochs"],
        view=view,
    )
    run_study(study, SequentialExecutor(data, device="cpu", seed=0, metric=objective),
              budget=job["budget"])
    trials = study.trials()
    usable = trials["status"].isin(["ok", "pruned"])
    return trials["value"].where(usable, math.nan).astype(float).tolist()


OPTUNA_SAMPLERS = ("tpe", "cmaes")


def _optuna(data: Any, space: Any, objective: str, job: dict) -> list[float]:
    import optuna

    from benchmarks._optuna_space import suggest_config

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*CmaEsSampler.*")  # categorical: independent
    sampler = (optuna.samplers.TPESampler(seed=job["seed"]) if job["strategy"] == "tpe" else
               optuna.samplers.CmaEsSampler(seed=job["seed"], warn_independent_sampling=False))
    study = optuna.create_study(direction=METRIC_DIRECTIONS[objective], sampler=sampler)
    values = []
    for _ in range(job["budget"]):
        trial = study.ask()
        value = _train_value(suggest_config(trial, space), data, objective, job["max_epochs"])
        if math.isfinite(value):
            study.tell(trial, value)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        values.append(value)
    return values


def regrets(values: list[float], seed_values: np.ndarray, direction: str) -> np.ndarray:
    """Best-so-far normalised regret after each trial (see the module docstring)."""
    sign = 1.0 if direction == "maximize" else -1.0
    seed_s = sign * seed_values[np.isfinite(seed_values)]
    best, median, worst = seed_s.max(), np.median(seed_s), seed_s.min()
    s = np.where(np.isfinite(values), sign * np.asarray(values, dtype=float), worst)
    return (best - np.maximum.accumulate(s)) / (best - median)


def snapshot(kb_path: Path) -> Path:
    """A private copy of the KB file (the seed build may still be writing the original)."""
    folder = Path(tempfile.mkdtemp())
    for suffix in ("", ".wal"):
        source = Path(str(kb_path) + suffix)
        if source.exists():
            shutil.copy(source, folder / (kb_path.name + suffix))
    return folder / kb_path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=SEED_BUILD_KB, help="the seed knowledge base")
    parser.add_argument("--datasets", default="islr_oj,swiss_labor_participation,mroz_lfp")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--max-rows", type=int, default=2500, help="as the seed build")
    parser.add_argument("--max-epochs", type=int, default=20, help="as the seed build")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one dataset, one seed, 5 trials")
    args = parser.parse_args()
    args.kb = seed_kb(args.kb)
    if args.quick:
        args.datasets, args.seeds, args.budget = args.datasets.split(",")[0], 1, 5
    kb_path = snapshot(args.kb)
    kb = KnowledgeBase(kb_path)
    datasets = kb.datasets().set_index("name")
    names = args.datasets.split(",")
    missing = [n for n in names if n not in datasets.index]
    if missing:
        sys.exit(f"not in {args.kb}: {', '.join(missing)}")
    jobs = [{"dataset": n, "strategy": s, "seed": seed, "budget": args.budget, "kb": str(kb_path),
             "max_rows": args.max_rows, "max_epochs": args.max_epochs}
            for n in names for seed in range(args.seeds) for s in args.strategies.split(",")]
    print(f"{len(jobs)} jobs on {len(names)} held-out datasets; KB: {len(datasets)} datasets, "
          f"{int(datasets['n_runs'].sum())} runs", flush=True)
    rows = []
    with ProcessPoolExecutor(args.workers) as pool:
        for done in pool.map(run_job, jobs):
            dataset_id = datasets.loc[done["dataset"], "id"]
            task = datasets.loc[done["dataset"], "task"]
            objective = objective_for(task)
            seed_runs = kb.runs(dataset_id=dataset_id, source="seed", status="ok")
            curve = regrets(done["values"], seed_runs["value"].to_numpy(dtype=float),
                            METRIC_DIRECTIONS[objective])
            print(f"  {done['dataset']:<28}{done['strategy']:<11}seed {done['seed']}: regret@end "
                  f"{curve[-1]:.3f} ({done['seconds']:.0f} s)", flush=True)
            for trial, (value, regret) in enumerate(zip(done["values"], curve, strict=True), 1):
                rows.append({"dataset": done["dataset"], "strategy": done["strategy"],
                             "seed": done["seed"], "trial": trial, "value": value,
                             "regret": regret})
    frame = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / "search_quality.csv", index=False)
    report(frame, args)


def report(frame: pd.DataFrame, args: argparse.Namespace) -> None:
    """Print the regret table and write the anytime plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = frame.groupby(["strategy", "trial"])["regret"].mean().unstack("strategy")
    marks = [t for t in CHECKPOINTS if t <= mean.index.max()]
    print(f"\nmean best-so-far normalised regret (0 = best seed run, 1 = median seed run), "
          f"{frame['dataset'].nunique()} held-out datasets x {frame['seed'].nunique()} seeds")
    print(f"{'strategy':<12}" + "".join(f"{f'@{t}':>9}" for t in marks))
    for strategy in mean.columns:
        print(f"{strategy:<12}" + "".join(f"{mean.loc[t, strategy]:>9.3f}" for t in marks))
    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy in mean.columns:
        ax.plot(mean.index, mean[strategy], marker=".", label=strategy)
    ax.axhline(0, color="grey", lw=0.5)
    # Early random trials can sit far above 1 (a diverged first trial); the range that tells the
    # strategies apart is 0..1, so the axis stops there and says so.
    ax.set_ylim(min(-0.2, float(mean.min().min()) - 0.05), 1.0)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("trials")
    ax.set_ylabel("best-so-far normalised regret (mean; axis cut at 1)")
    ax.set_title(f"Leave-one-dataset-out, {frame['dataset'].nunique()} datasets x "
                 f"{frame['seed'].nunique()} seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "search_quality.png", dpi=120)
    print(f"wrote {OUT / 'search_quality.png'} and {OUT / 'search_quality.csv'}")


if __name__ == "__main__":
    main()
