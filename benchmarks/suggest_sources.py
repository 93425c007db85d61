"""Where do `suggest`'s picks come from on a dataset the knowledge base has not seen?

The surrogate ranks about 1,000 space samples and the nearest datasets' best KB configurations.
An argmax over many noisy estimates favours candidates whose noise happens to be high (the
winner's curse), above all space samples that no run has tried; the 20-member ensemble ranked by
mean − spread is there to keep them from winning on it. This checks that it still does on a
given KB, without training: a fifth of the datasets is held out in turn (`KBView.without`), and
for each held-out dataset `rank_configs` (as `suggest` calls it) picks the top 3 from its
meta-features. Printed: how often the top-1, and any of the top 3, is an untried space sample,
by task, and how many distinct configurations the top-1 takes over all datasets (a KB whose
meta-features personalise gives many).

    python benchmarks/suggest_sources.py                               # the shipped seed
    python benchmarks/suggest_sources.py --kb-export tests/fixtures/seed_kb_2480   # the first
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._args import kb_export  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender._kb import SEED_KB_DIR  # noqa: E402
from recommender.learn import load_view, rank_configs  # noqa: E402
from recommender.space import default_space  # noqa: E402

UNTRIED = "space sample"
SHOWN = ("optimizer", "learning_rate", "n_layers", "width", "max_epochs", "num_embedding")


def picks(export: Path, folds: int, seed: int) -> pd.DataFrame:
    """One row per held-out dataset: its task and the origins and configurations of its top 3."""
    with tempfile.TemporaryDirectory() as folder:  # the view reads curves from it when fitting
        kb = KnowledgeBase(Path(folder) / "kb.duckdb")
        kb.import_parquet(export)
        view = load_view(kb)
        space = default_space()
        info = view.dataset_info
        datasets = np.array(sorted(set(info.index) & set(view.meta.index)))
        rows = []
        for _, held in GroupKFold(folds).split(datasets, groups=datasets):
            held_ids = datasets[held]
            rest = view.without(*held_ids)
            for dataset_id in held_ids:
                task = str(info.loc[dataset_id, "task"])
                features = view.meta.loc[dataset_id].to_dict()
                top = rank_configs(rest, space, features, task, top=3, seed=seed)
                rows.append({
                    "dataset": info.loc[dataset_id, "dataset_name"], "task": task,
                    "origins": [s.origin for s in top],
                    "top1": json.dumps(top[0].config, sort_keys=True, default=str),
                })  # fmt: skip
    return pd.DataFrame(rows)


def report(frame: pd.DataFrame) -> None:
    frame = frame.assign(
        untried_top1=frame["origins"].map(lambda o: o[0] == UNTRIED),
        untried_top3=frame["origins"].map(lambda o: UNTRIED in o),
    )
    table = frame.groupby("task").agg(
        datasets=("dataset", "size"),
        untried_top1=("untried_top1", "sum"),
        untried_in_top3=("untried_top3", "sum"),
        distinct_top1=("top1", "nunique"),
    )
    table.loc["all"] = [
        len(frame), frame["untried_top1"].sum(), frame["untried_top3"].sum(),
        frame["top1"].nunique(),
    ]  # fmt: skip
    print(table.to_string())
    print("\nthe top-1 configurations, by how many datasets they were picked for:")
    for config, count in frame["top1"].value_counts().items():
        shown = {k: v for k, v in json.loads(config).items() if k in SHOWN}
        print(f"  {count:>4}  {shown}")
    print("\ntop-1 is an untried space sample on:", ", ".join(
        frame.loc[frame["untried_top1"], "dataset"]) or "none")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kb-export", type=kb_export, default=SEED_KB_DIR, help="a KB export folder"
    )
    parser.add_argument("--folds", type=int, default=5, help="groups of datasets held out")
    parser.add_argument("--seed", type=int, default=0, help="suggest's seed")
    args = parser.parse_args()
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, but got {args.folds}")
    started = time.perf_counter()
    report(picks(args.kb_export, args.folds, args.seed))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
