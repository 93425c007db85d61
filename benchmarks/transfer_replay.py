"""Transfer on or off, replayed offline on the seed KB: no training, seconds per dataset.

Leave-one-dataset-out: the held-out dataset's 40 stored runs are the candidate set (their stored
scores are what a trial "returns"); the searcher ("surrogate", defaults otherwise) learns from the
seed KB without that dataset and picks one stored run per step. Compared side by side on the same
held-out datasets, the same seed and the same first picks:

- `transfer`: `SurrogateSettings.transfer=True` (the default): a `TransferPrior` re-weighted on
  the trials, warm-start points re-ranked after the first trials;
- `no transfer`: the meta-feature surrogate alone (`transfer=False`).

Both with the dataset's meta-features (what `tune` has) and without them (a black-box study:
transfer starts from uniform source weights; without transfer the surrogate at unknown
meta-features). Warm start: the 5 candidates the zero-shot prior ranks best (without
meta-features and with transfer: the greedy portfolio's order over the candidates).

Normalised regret of the best pick so far, as `search_quality.py`: (s_best - s) / (s_best -
s_median) over the held-out dataset's stored runs (0 = its best run, 1 = its median run).

    python benchmarks/transfer_replay.py                  # every 4th seed dataset (16)
    python benchmarks/transfer_replay.py --every 1        # all 62
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._seed_kb import FIRST_SEED_KB, oriented_values  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender._wiring import WarmStart  # noqa: E402
from recommender.learn import KBView, load_view  # noqa: E402
from recommender.search import SurrogateSearcher  # noqa: E402
from recommender.settings import StudySettings, SurrogateSettings  # noqa: E402
from recommender.space import default_space  # noqa: E402

BUDGETS = (1, 5, 10, 20)


def replay(view: KBView, dataset_id: str, transfer: bool, meta: bool, budget: int) -> np.ndarray:
    """Best-so-far normalised regret after each of `budget` picks on one held-out dataset."""
    space = default_space()
    runs = view.runs[view.runs["dataset_id"] == dataset_id].reset_index(drop=True)
    values = oriented_values(runs)
    finite = values[np.isfinite(values)]
    best, median = finite.max(), np.median(finite)
    values = np.where(np.isfinite(values), values, finite.min())
    candidates = [space.project(c) for c in runs.to_dict("records")]
    features = dict(view.meta.loc[dataset_id]) if meta else {}
    warm = WarmStart(view.without(dataset_id), features, str(runs["task"].iloc[0]))
    settings = SurrogateSettings(transfer=transfer)
    prior = warm.prior(space, 0, settings.prior_members, transfer=transfer)
    zero_shot = prior.predict_members(space.encode(candidates)).mean(axis=0)
    first = [
        candidates[i] for i in np.argsort(-zero_shot, kind="stable")[: StudySettings.warm_start]
    ]
    searcher = SurrogateSearcher(
        space, prior=prior, points_to_evaluate=first, candidates=candidates, n_neighbors=0
    )
    keys = [repr(sorted(c.items())) for c in candidates]
    regret = []
    for _ in range(budget):
        config = searcher.ask()
        if config is None:
            break
        i = keys.index(repr(sorted(config.items())))
        searcher.observe(config, values[i])
        found = max(values[keys.index(repr(sorted(c.items())))] for c in searcher.configs)
        regret.append((best - found) / max(best - median, 1e-12))
    return np.array(regret + [regret[-1]] * (budget - len(regret)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=4, help="every n-th seed dataset")
    parser.add_argument("--budget", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Path(tmp) / "kb.duckdb")
        kb.import_parquet(FIRST_SEED_KB)  # the 62 datasets its recorded figures used
        view = load_view(kb)
    datasets = sorted(view.runs["dataset_id"].unique())[:: args.every]
    print(f"{len(datasets)} held-out seed datasets, budget {args.budget}", flush=True)
    for meta in (True, False):
        results = {}
        for transfer in (True, False):
            start = time.perf_counter()
            results[transfer] = np.stack(
                [replay(view, d, transfer, meta, args.budget) for d in datasets]
            )
            print(
                f"  ({'with' if meta else 'without'} meta-features, transfer={transfer}: "
                f"{time.perf_counter() - start:.0f} s)",
                flush=True,
            )
        budgets = [b for b in BUDGETS if b <= args.budget]
        print(f"\n{'with' if meta else 'without'} meta-features: mean normalised regret")
        print("| picks | " + " | ".join(str(b) for b in budgets) + " |")
        print("| --- |" + " ---: |" * len(budgets))
        for transfer, label in ((True, "transfer"), (False, "no transfer")):
            row = results[transfer].mean(axis=0)
            print(f"| {label} | " + " | ".join(f"{row[b - 1]:.3f}" for b in budgets) + " |")
        on, off = results[True], results[False]
        wins = " | ".join(
            f"{(on[:, b - 1] < off[:, b - 1]).sum()}/{(on[:, b - 1] == off[:, b - 1]).sum()}/"
            f"{(on[:, b - 1] > off[:, b - 1]).sum()}"
            for b in budgets
        )
        print(f"| transfer better/tie/worse | {wins} |\n", flush=True)


if __name__ == "__main__":
    main()
