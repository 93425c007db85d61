"""What fixed picks would score on `suggest_quality.py`'s own trainings: how much the top-1's
personalisation (meta-features) adds over always picking the same configuration.

From a results file and a trainings file of `suggest_quality.py` (no training): the
configurations trained on many held-out datasets (the shared design points that land in the top
3 on most of them), and for each, on how many datasets its mean over training seeds beats the
library default's and on how many it was trained, by task and by size band, next to the top-1's
count; then the better of them per dataset (an oracle) and the best fixed pick per task (of
those trained on every dataset of the task). The last two are read off the very
datasets they are counted on: references, not methods.

    python benchmarks/fixed_picks.py     # the files in docs/ of the 13,988-run seed's rerun
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._seed_kb import SHIPPED_SEED_KB, report_groups, seed_kb  # noqa: E402
from benchmarks._trained import load_trained  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from training import TrainConfig  # noqa: E402
from training.metrics import METRIC_DIRECTIONS  # noqa: E402

DOCS = ROOT / "docs"
DEFAULT = "the library default"
# What `pick_wins` reads of a results file (one row per held-out dataset).
RESULT_COLUMNS = frozenset({"dataset", "task", "n_rows", "metric", "seeds", "top1_beats_default"})
# The library default's point: what `_name` compares a configuration with (its training length
# left out, as `_name` leaves it out).
_DEFAULT_POINT = {
    k: v for k, v in TrainConfig().to_dict().items() if k not in ("max_epochs", "patience")
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results", type=Path, default=DOCS / "suggest_quality_13988_partial.jsonl"
    )
    parser.add_argument("--trained", type=Path, default=DOCS / "suggest_quality_wide_trained.jsonl")
    parser.add_argument("--kb", default=str(SHIPPED_SEED_KB), help="KB naming the dataset ids")
    parser.add_argument("--share", type=float, default=0.5, help="a fixed pick is trained on "
                        "at least this share of the datasets (0 to 1)")  # fmt: skip
    args = parser.parse_args()
    for option, path in (("--results", args.results), ("--trained", args.trained)):
        if not path.is_file():
            parser.error(f"{option}: {path} is not a file (one suggest_quality.py wrote)")
    if not 0 < args.share <= 1:
        parser.error(f"--share: {args.share} is not a share of the datasets (above 0, at most 1)")
    results = pd.read_json(args.results, lines=True)
    missing = RESULT_COLUMNS.difference(results.columns)
    if missing:
        parser.error(f"--results: {args.results} lacks {sorted(missing)} (not a results file)")
    results = results.set_index("dataset")
    names = KnowledgeBase(seed_kb(args.kb)).datasets().set_index("id")["name"]
    try:
        outcomes = load_trained(args.trained)
    except (KeyError, TypeError, ValueError) as error:
        parser.error(f"--trained: {args.trained} is not a trainings file ({error!r})")
    trained = pd.DataFrame({
        "dataset": [names.get(dataset_id) for dataset_id, *_ in outcomes],
        "config": [_name(dict(config)) for *_, config in outcomes],
        "value": [value if status in ("ok", "pruned") else np.nan
                  for status, value in outcomes.values()],
    })  # fmt: skip
    if not (trained["config"] == DEFAULT).any():
        parser.error(f"--trained: {args.trained} holds no training of the library default")
    table, fixed, best = pick_wins(results, trained, args.share)
    for i, config in enumerate(fixed):
        print(f"fixed {i}: {config}")  # the columns below name them so
    print(f"datasets where each beats the default, of those it was trained on ({len(table)} held "
          f"out; best per task: {best.to_dict()})")  # fmt: skip
    picks = [c for c in table if c not in ("task", "n_rows")]
    for _, key in report_groups(table):
        grouped = table.groupby(key, observed=True)[picks]
        print(grouped.sum().astype(int).astype(str) + " / " + grouped.count().astype(str))


def pick_wins(
    results: pd.DataFrame, trained: pd.DataFrame, share: float
) -> tuple[pd.DataFrame, list[str], pd.Series]:
    """Per held-out dataset (`results`' index, with `task`, `n_rows`, `metric`, `seeds` and
    `top1_beats_default`), whether each pick beats the library default on the mean of its
    trainings (`trained`: `dataset`, `config` as `_name` gives it, `value`; NaN where a pick
    was not trained on that dataset), and the fixed picks' configurations.

    Columns: `top-1`; `fixed i` for each configuration trained on at least `share` of the
    datasets with every seed; `oracle`, the best of them per dataset; `best per task`, the one
    that wins most often in each task among those trained on all of its datasets (which one, per
    task, is the third result; a task without such a pick has none)."""
    trained = trained[trained["dataset"].isin(results.index)]
    sign = results["metric"].map(lambda m: 1.0 if METRIC_DIRECTIONS[m] == "maximize" else -1.0)
    means = trained.groupby(["dataset", "config"])["value"].agg(["mean", "size"])
    means = means[means["size"] >= results["seeds"].min()]["mean"].unstack()
    means = means.mul(sign.reindex(means.index), axis=0).reindex(results.index)  # higher: better
    beats = means.drop(columns=DEFAULT).gt(means[DEFAULT], axis=0).where(means.notna())
    fixed = [c for c in beats if means[c].notna().mean() >= share]
    table = results[["task", "n_rows"]].copy()
    table["top-1"] = (results["top1_beats_default"] > 0.5).astype(float)
    picks = [f"fixed {i}" for i in range(len(fixed))]
    table[picks] = beats[fixed].to_numpy(dtype=float)
    table["oracle"] = table[picks].max(axis=1)
    by_task = table.groupby("task")[picks]
    everywhere = by_task.count().eq(by_task.size(), axis=0)  # trained on every dataset of a task
    best = by_task.sum().where(everywhere).dropna(how="all").idxmax(axis=1)
    table["best per task"] = [
        table.loc[d, best[t]] if t in best else np.nan for d, t in table["task"].items()
    ]
    return table, fixed, best


def _name(config: dict) -> str:
    """A configuration as one line, without its training length: `suggest` gives a design point
    the `max_epochs` and `patience` it learned for each dataset, and the benchmark capped the
    library default's (`DEFAULT`) at the KB's longest run."""
    point = {k: v for k, v in config.items() if k not in ("max_epochs", "patience")}
    return DEFAULT if point == _DEFAULT_POINT else json.dumps(point)


if __name__ == "__main__":
    main()
