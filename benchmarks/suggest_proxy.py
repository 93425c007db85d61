"""A fast, training-free proxy of `suggest_quality.py`, for telling ranking changes from noise.

Leave one seed dataset out (or, with `--folds`, a fold of them), fit the surrogate on the others,
and let it rank the held-out dataset's own seed configurations (40 in the shipped seed, 58 in
the wide build: its anchors and shared Sobol points it has seen on other datasets, the
per-dataset ones it has not), whose scores are already known. The top pick "wins" when its seed
run beats the library default's seed run on that dataset. Repeating this with several surrogate
seeds shows how much of a win-rate difference is the surrogate's own randomness, and how often two
seeds pick the same configuration; the variant without meta-features shows how much the dataset
description adds over a global ranking. Next to the ranking in use (the members' mean less their
spread) it ranks by the mean alone, the mean less twice the spread, the mean less the spread of
each member's margin over the default, and the share of members that put a candidate above the
default: rankings aimed at beating the default rather than at the best normalised score.

    python benchmarks/suggest_proxy.py --folds 5 --seeds 0    # a fifth held out in turn: 3-4 min
    python benchmarks/suggest_proxy.py --seeds 0              # one dataset at a time: over an hour
    python benchmarks/suggest_proxy.py --seeds 0,1,2,3,4 --params n_models=5  # the former ensemble

On the shipped 13,988-run seed, leaving one dataset out takes its own surrogate fits (with and
without meta-features, about 40 s together on a busy core), so the 242 datasets take over an hour
per surrogate seed on 2 cores; `--folds 5` fits five times (197 s measured, one worker).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._args import whole_number  # noqa: E402
from benchmarks._seed_kb import (  # noqa: E402
    SHIPPED_SEED_KB,
    oriented_values,
    report_groups,
    seed_kb,
)
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender.learn import (  # noqa: E402
    META_FEATURE_NAMES,
    RISK_AVERSION,
    KBView,
    Surrogate,
    SurrogateFeatures,
    load_view,
)
from recommender.space import default_space  # noqa: E402
from training import TrainConfig  # noqa: E402

_VIEW: dict[str, KBView] = {}


def _is_default(runs: pd.DataFrame) -> np.ndarray:
    # the build caps every run's max_epochs (20 in the first seed KB, 200 in the wide one)
    default = TrainConfig()
    default = default.replace(max_epochs=min(default.max_epochs, int(runs["max_epochs"].max())))
    mask = np.ones(len(runs), dtype=bool)
    for name, value in default.to_dict().items():
        mask &= runs[name].to_numpy() == value
    return mask


def evaluate(job: tuple[tuple[str, ...], int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Picks of each ranking for held-out datasets (one, or a fold) and one surrogate seed."""
    held_out, seed, params = job
    view, space = _VIEW["view"], default_space()
    X, y, groups = view.without(*held_out).training_set(space)
    layout = SurrogateFeatures(space)
    categorical = layout.categorical
    n_meta = len(META_FEATURE_NAMES)
    with_meta = Surrogate(**params, seed=seed).fit(X, y, groups, categorical=categorical)
    without_meta = Surrogate(**params, seed=seed).fit(
        X[:, n_meta:], y, groups, categorical=[c - n_meta for c in categorical]
    )
    rows = []
    for dataset_id in held_out:
        runs = view.runs[view.runs["dataset_id"] == dataset_id].reset_index(drop=True)
        values, is_default = oriented_values(runs), _is_default(runs)
        configs = [space.project(c) for c in runs[list(space.names)].to_dict("records")]
        configs = [{k: v for k, v in c.items() if not pd.isna(v)} for c in configs]
        candidates = layout.transform(view.meta.loc[dataset_id].to_dict(), configs)
        members = with_meta.predict_members(candidates)
        mean, spread = members.mean(axis=0), members.std(axis=0)
        # each member's margin of a candidate over the default: the members' errors on the two
        # are alike, so its spread is the uncertainty of beating the default
        margin = members - members[:, is_default][:, :1]
        rankings = {
            "mean - spread (in use)": mean - RISK_AVERSION * spread,
            "mean": mean,
            "mean - 2 x spread": mean - 2 * spread,
            "mean - spread of the margin": mean - margin.std(axis=0),
            # the share takes few values: the mean breaks its ties
            "share of members above the default": (margin > 0).mean(axis=0) + 1e-9 * mean,
            "mean, no meta-features": without_meta.predict(candidates[:, n_meta:]),
        }
        default_value = values[is_default][0]
        best, median = float(np.max(values)), float(np.median(values))
        scale = best - median if np.isfinite(median) and best > median else 1.0
        for name, score in rankings.items():
            top = np.argsort(-score, kind="stable")[:3]
            rows.append({
                "dataset": str(runs["dataset_name"].iloc[0]),
                "task": str(runs["task"].iloc[0]),
                "seed": seed,
                "ranking": name,
                "pick": int(top[0]),
                "win": float(values[top[0]] > default_value),
                "top1_regret": min(3.0, (best - values[top[0]]) / scale),
                "top3_regret": min(3.0, (best - values[top].max()) / scale),
            })  # fmt: skip
    return rows


def surrogate_params(text: str) -> dict[str, Any]:
    """`name=value,...` as `Surrogate` keyword arguments (numbers as int or float)."""
    known = set(Surrogate().get_params()) - {"seed"}
    params: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in known or not value:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not name=value with a Surrogate setting ({', '.join(sorted(known))})"
            )
        params[name] = float(value) if any(c in value for c in ".e") else int(value)
    return params


def _worker_init(kb_path: str) -> None:
    _VIEW["view"] = load_view(KnowledgeBase(kb_path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default=str(SHIPPED_SEED_KB), help="KB holding the seed runs")
    parser.add_argument("--seeds", default="0,1,2", help="surrogate seeds, comma-separated")
    parser.add_argument("--workers", type=whole_number(1), default=2)
    parser.add_argument(
        "--params",
        type=surrogate_params,
        default={},
        help="Surrogate settings other than suggest's, e.g. n_models=5,num_leaves=15",
    )
    parser.add_argument(
        "--folds",
        type=whole_number(2),
        help="hold out groups of datasets in turn (one surrogate fit per fold, not per dataset)",
    )
    parser.add_argument(
        "--out", type=Path, help="write every pick (dataset, ranking, seed) to this CSV"
    )
    parser.add_argument(
        "--min-runs",
        type=whole_number(2),
        default=20,
        help="hold out only datasets with at least this many runs (a build in progress has "
        "some with a few blocks; every dataset still trains the surrogate)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 datasets, seed 0")
    args = parser.parse_args()
    if not all(s.strip().isdigit() for s in args.seeds.split(",")):
        parser.error(
            f"--seeds takes whole numbers separated by commas, e.g. 0,1,2; got {args.seeds!r}"
        )
    args.kb = str(seed_kb(args.kb))
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    kb = KnowledgeBase(args.kb)
    view, n_rows = load_view(kb), kb.datasets().set_index("name")["n_rows"]
    # a build in progress lists datasets it has not run, and has run some in part
    runs_per_dataset = view.runs["dataset_id"].value_counts()
    enough = set(runs_per_dataset.index[runs_per_dataset >= args.min_runs])
    dataset_ids = [d for d in view.meta.index if d in enough][: 6 if args.quick else None]
    if args.folds is not None and args.folds > len(dataset_ids):
        parser.error(f"--folds {args.folds} is more than the {len(dataset_ids)} datasets with runs")
    started = time.perf_counter()
    if args.folds is None:
        held_out = [(d,) for d in dataset_ids]
    else:
        folds = GroupKFold(args.folds).split(dataset_ids, groups=dataset_ids)
        held_out = [tuple(dataset_ids[i] for i in test) for _, test in folds]
    jobs = [(h, s, args.params) for h in held_out for s in seeds]
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.workers, initializer=_worker_init, initargs=(args.kb,)) as pool:
        for done, result in enumerate(pool.map(evaluate, jobs), start=1):
            rows += result  # a long run shows it is alive: a line per held-out group and seed
            print(f"  {done}/{len(jobs)} jobs ({time.perf_counter() - started:.0f} s)", flush=True)
    frame = pd.DataFrame(rows)
    frame["n_rows"] = frame["dataset"].map(n_rows)
    if args.out is not None:
        frame.to_csv(args.out, index=False)
    wins = frame.pivot_table(index="ranking", columns="seed", values="win", aggfunc="sum")
    n = frame["dataset"].nunique()
    print(
        f"top pick beats the default's seed run, of {n} held-out datasets with at least "
        f"{args.min_runs} runs ({time.perf_counter() - started:.0f} s)"
    )
    print(wins.astype(int).rename(columns=lambda s: f"surrogate seed {s}").to_string())
    print("\nper task and size band, mean over seeds: datasets, share of wins; regret of the top")
    print("pick and of the best of the top 3 (0 = the dataset's best seed run, 1 = its median;")
    print("clipped at 3)")
    print(summary(frame).round(3).to_string())
    if len(seeds) > 1:
        agreement = frame.groupby(["ranking", "dataset"])["pick"].apply(_pair_agreement)
        print("\nsame top pick for two surrogate seeds, share of seed pairs (mean over datasets)")
        print(agreement.groupby("ranking").mean().map("{:.0%}".format).to_string())


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per ranking, per task, per size band and over all: datasets, share of wins, mean regrets."""
    measures = ["win", "top1_regret", "top3_regret"]
    tables = []
    for kind, key in report_groups(frame):
        grouped = frame.groupby([frame["ranking"], key.rename("group")], observed=True)
        table = grouped[measures].mean().assign(datasets=grouped["dataset"].nunique())
        tables.append(pd.concat({kind: table}, names=["by"]).reorder_levels([1, 0, 2]))
    return pd.concat(tables).sort_index(level=0, sort_remaining=False)[["datasets", *measures]]


def _pair_agreement(picks: pd.Series) -> float:
    """Share of pairs of surrogate seeds that picked the same configuration."""
    return float(np.mean([a == b for a, b in itertools.combinations(picks, 2)]))


if __name__ == "__main__":
    main()
