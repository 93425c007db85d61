"""Search overhead per trial (ask + tell + surrogate refits + the KB write; training excluded),
for `tune`'s surrogate strategy and for Optuna's TPE, side by side in one run.

A cheap synthetic objective of the configuration stands in for training, so only the search's
own time is measured. The surrogate strategy learns from a synthetic knowledge base (`--kb-runs`
runs over 40 datasets with random meta-features; its one-off surrogate fit is reported apart) and
logs every trial into a DuckDB file, as `tune` does; Optuna keeps its trials in memory.

    python benchmarks/search_overhead.py             # 200 trials
    python benchmarks/search_overhead.py --quick     # 30 trials, smaller KB
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._optuna_space import suggest_config  # noqa: E402
from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord  # noqa: E402
from recommender import open_study  # noqa: E402
from recommender.learn import META_FEATURE_NAMES  # noqa: E402
from recommender.space import default_space  # noqa: E402


def objective(config: dict[str, Any], shift: float = 0.0) -> float:
    """A smooth stand-in for a validation log loss (lower is better), optimum near lr 3e-3."""
    loss = 0.3 + 0.1 * (math.log10(config["learning_rate"]) + 2.5 + shift) ** 2
    loss += 0.05 * abs(config["n_layers"] - 2) + 0.2 * config.get("dropout", 0.0)
    loss += 0.02 * abs(math.log2(config["width"]) - 7) + (config["optimizer"] == "sgd") * 0.1
    return loss


def synthetic_kb(path: Path, n_runs: int, seed: int = 0) -> dict[str, float]:
    """A KB of `n_runs` runs over 40 datasets; returns a new dataset's meta-features."""
    rng = np.random.default_rng(seed)
    kb = KnowledgeBase(path)
    space = default_space()
    records = []
    for d in range(40):
        dataset = DatasetRecord(f"synthetic-{d}", f"synthetic {d}", "binary", 1000, 10, 2)
        kb.add_dataset(dataset)
        kb.set_meta_features(dataset.id, random_meta_features(rng))
        shift = rng.normal(scale=0.5)
        for config in space.sample(n_runs // 40, rng):
            value = objective(config, shift)
            records.append(RunRecord(dataset.id, config, "log_loss", "minimize", value,
                                     metrics={"log_loss": value}, source="seed"))
    kb.log_runs(records)
    return random_meta_features(rng)


def random_meta_features(rng: np.random.Generator) -> dict[str, float]:
    values = rng.normal(size=len(META_FEATURE_NAMES))
    return {name: float(v) for name, v in zip(META_FEATURE_NAMES, values, strict=True)}


def time_surrogate(n_trials: int, kb_runs: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp())
    features = synthetic_kb(folder / "kb.duckdb", kb_runs)
    kb = KnowledgeBase(folder / "kb.duckdb")
    started = time.perf_counter()
    study = open_study(kb, default_space(), DatasetRecord("new", "new", "binary", 1000, 10, 2),
                       meta_features=features, objective="log_loss", direction="minimize",
                       strategy="surrogate", warm_start=5, budget=n_trials, seed=0)
    setup = time.perf_counter() - started
    per_trial, asks, tells, best = [], [], [], math.inf
    for _ in range(n_trials):
        t0 = time.perf_counter()
        config = study.ask()
        t1 = time.perf_counter()
        value = objective(config)
        t2 = time.perf_counter()
        study.tell(config, value=value, curve=[value * 1.2, value])
        t3 = time.perf_counter()
        asks.append(t1 - t0)
        tells.append(t3 - t2)
        per_trial.append((t1 - t0) + (t3 - t2))
        best = min(best, value)
    return {"setup": setup, "per_trial": float(np.mean(per_trial)), "ask": float(np.mean(asks)),
            "tell": float(np.mean(tells)), "last_50": float(np.mean(per_trial[-50:])),
            "max": float(np.max(per_trial)), "best": best}


def time_tpe(n_trials: int) -> dict[str, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = default_space()
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
    per_trial, best = [], math.inf
    for _ in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask()
        config = suggest_config(trial, space)
        t1 = time.perf_counter()
        value = objective(config)
        t2 = time.perf_counter()
        study.tell(trial, value)
        per_trial.append((t1 - t0) + (time.perf_counter() - t2))
        best = min(best, value)
    return {"setup": 0.0, "per_trial": float(np.mean(per_trial)), "ask": math.nan,
            "tell": math.nan, "last_50": float(np.mean(per_trial[-50:])),
            "max": float(np.max(per_trial)), "best": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--kb-runs", type=int, default=4000)
    parser.add_argument("--quick", action="store_true", help="30 trials, 800 KB runs")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.kb_runs = 30, 800
    rows = {"tune surrogate": time_surrogate(args.trials, args.kb_runs),
            "optuna TPE": time_tpe(args.trials)}
    print(f"search overhead per trial, {args.trials} trials, KB of {args.kb_runs} runs "
          "(seconds; ask + tell, objective excluded)")
    print(f"{'strategy':<16}{'setup':>8}{'mean':>8}{'ask':>8}{'tell':>8}{'last 50':>9}{'max':>8}"
          f"{'best loss':>11}")
    for name, r in rows.items():
        print(f"{name:<16}{r['setup']:>8.2f}{r['per_trial']:>8.3f}{r['ask']:>8.3f}{r['tell']:>8.3f}"
              f"{r['last_50']:>9.3f}{r['max']:>8.3f}{r['best']:>11.4f}")
    ratio = rows["tune surrogate"]["per_trial"] / rows["optuna TPE"]["per_trial"]
    print(f"surrogate / TPE overhead ratio: {ratio:.2f}; target < 0.2 s per trial: "
          f"{'met' if rows['tune surrogate']['per_trial'] < 0.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
