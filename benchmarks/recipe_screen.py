"""Screen candidate anchors before the seed build runs them everywhere: on how many seed
datasets a fixed recipe beats the library default, trained for real.

The seed build runs anchors on every dataset (the library default, the modern recipe
`recommender.learn.MODERN_RECIPE` and the long recipe this screen found, `LONG_RECIPE`), so the KB
knows where each wins; another anchor costs a run
on every table of the list, and is worth it only where it beats the default more often than the
recipes the KB already holds. Each candidate (`--candidate NAME=JSON`: the modern recipe with the
fields of JSON changed; `--candidate modern={}` is the recipe itself) is trained on each chosen
dataset as `suggest_quality.py` trains a pick: the table at the row count the KB recorded, the
seed build's split, `--seeds` training seeds; it beats the default where its mean objective over
the seeds beats the default's. The counts are read off the seed datasets: they say which recipe
is worth a build (the surrogate then learns where it wins), not which one to pick.

Trainings are kept in `--out`/trained.jsonl, first filled from `--trained` (by default the
trainings kept in docs/: `suggest_quality.py`'s, so the default's are not paid again, and this
screen's, so the README's figures print without training), and one row per finished dataset
goes to a results file of its candidate list and seeds (`--out`/recipe_screen-HASH.jsonl), so a
rerun resumes and another list starts its own file, sharing the trainings.

    python benchmarks/recipe_screen.py --task regression --below-rows 3500 \\
        --candidate modern='{}' --candidate batch_128='{"batch_size": 128}'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._args import whole_number  # noqa: E402
from benchmarks._seed_kb import SHIPPED_SEED_KB, report_groups, seed_kb, seed_table  # noqa: E402
from benchmarks._trained import (  # noqa: E402
    Outcome,
    TrainedKey,
    load_trained,
    oriented,
    train_known,
)
from hpo_common.errors import ConfigError  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender.learn import MODERN_RECIPE, objective_for  # noqa: E402
from scripts.build_seed_kb import SEED  # noqa: E402
from scripts.seed_datasets import SeedDataset, seed_datasets  # noqa: E402
from training import TrainConfig, prepare  # noqa: E402

TASKS = ("binary", "multiclass", "regression")
DEFAULT = "default"  # the library default's column
# Trainings kept in the repository: suggest_quality.py's on the 13,988- and 14,229-run seeds (the
# library default's among them) and this screen's own (README, "Screening a third anchor").
TRAINED = (
    ROOT / "docs" / "suggest_quality_wide_trained.jsonl",
    ROOT / "docs" / "recipe_screen_trained.jsonl",
)


def candidate(text: str) -> tuple[str, TrainConfig]:
    """An argparse `type`: NAME=JSON, the modern recipe with JSON's fields changed."""
    name, _, fields = text.partition("=")
    try:
        changes = json.loads(fields)
        if not name or not isinstance(changes, dict):
            raise ValueError("not NAME={...}")
        return name, TrainConfig.from_dict({**MODERN_RECIPE, **changes})
    except (ValueError, ConfigError) as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=JSON, a name and TrainConfig fields to change in the modern "
            f"recipe, e.g. batch_128='{{\"batch_size\": 128}}' ({error})"
        ) from None


def screen(
    dataset: SeedDataset,
    table_runs: pd.DataFrame,
    kb_rows: pd.Series,
    candidates: dict[str, TrainConfig],
    seeds: int,
    known: Mapping[TrainedKey, Outcome],
    store: Path,
) -> dict[str, Any]:
    """One dataset's row: the library default's and each candidate's mean objective over
    `seeds`, oriented so that higher is better (None where a training failed or diverged)."""
    table = seed_table(dataset, table_runs, kb_rows)
    metric = objective_for(table.task)
    outcomes, _ = train_known(
        [TrainConfig(), *candidates.values()],
        prepare(table, seed=SEED),
        dataset_id=table.fingerprint,
        metric=metric,
        seeds=seeds,
        known=known,
        store=store,
    )
    means = oriented(outcomes, metric).mean(axis=1)
    scores = dict(zip([DEFAULT, *candidates], means, strict=True))
    return {
        "dataset": dataset.name,
        "task": table.task,
        "n_rows": table.n_rows,
        **{name: float(m) if np.isfinite(m) else None for name, m in scores.items()},
    }


_WORKER: dict[str, Any] = {}


def _worker_init(kb_path: str, store: str) -> None:
    import torch

    torch.set_num_threads(1)
    kb = KnowledgeBase(kb_path)
    _WORKER.update(
        runs=kb.runs(columns=["dataset_id"]),
        datasets=kb.datasets().set_index("id"),
        store=Path(store),
        known=load_trained(Path(store)),
    )


def _screen_job(dataset: SeedDataset, candidates: dict[str, TrainConfig], seeds: int) -> dict:
    w = _WORKER
    ids = w["datasets"].index[w["datasets"]["name"] == dataset.name]
    runs = w["runs"][w["runs"]["dataset_id"].isin(ids)]
    return screen(dataset, runs, w["datasets"]["n_rows"], candidates, seeds, w["known"], w["store"])


def summary(rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per candidate (rows) and per task, size band and over all (columns): on how many datasets
    it beats the default (a failed candidate does not; a failed default is beaten by any
    finished candidate), and its median margin over the default where both finished."""
    scores = rows[[DEFAULT, *names]].astype(float)
    beats = scores[names].fillna(-np.inf).gt(scores[DEFAULT].fillna(-np.inf), axis=0)
    margins = scores[names].sub(scores[DEFAULT], axis=0)
    columns = {}
    for _, key in report_groups(rows):
        for label, index in beats.groupby(key, observed=True).groups.items():
            wins, median = beats.loc[index].sum(), margins.loc[index].median()
            columns[label] = [f"{wins[n]} / {len(index)} ({median[n]:+.4f})" for n in names]
    return pd.DataFrame(columns, index=pd.Index(names, name="candidate"))


def _margin(row: dict[str, Any], name: str) -> str:
    if row[name] is None or row[DEFAULT] is None:
        return "failed" if row[name] is None else "(default failed)"
    return f"{row[name] - row[DEFAULT]:+.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default=str(SHIPPED_SEED_KB), help="KB holding the seed runs")
    parser.add_argument(
        "--candidate", type=candidate, action="append", required=True, help="NAME=JSON (repeat)"
    )
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--task", choices=TASKS, default=None, help="only datasets of this task")
    parser.add_argument(
        "--below-rows", type=whole_number(0), default=0, help="only smaller tables (0: all)"
    )
    parser.add_argument("--seeds", type=whole_number(1), default=3, help="training seeds")
    parser.add_argument("--workers", type=whole_number(1), default=2, help="datasets at once")
    parser.add_argument(
        "--trained",
        type=Path,
        action="append",
        help="trainings files a first run starts from (repeat; default: the two in docs/)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "recipe_screen")
    args = parser.parse_args()
    candidates = dict(args.candidate)
    if len(candidates) < len(args.candidate) or DEFAULT in candidates:
        parser.error(f"--candidate: each name once, and not {DEFAULT!r}")
    missing = [str(path) for path in args.trained or () if not path.is_file()]
    if missing:
        parser.error(f"--trained: no such file: {', '.join(missing)}")
    kb_path = seed_kb(args.kb)
    datasets = KnowledgeBase(kb_path).datasets()
    tasks = datasets.groupby("name")["task"].first()
    rows_of = datasets.groupby("name")["n_rows"].max()
    chosen = sorted(
        (d for d in seed_datasets() if d.name in tasks.index),
        key=lambda d: rows_of[d.name],  # smallest first: a stopped screen has the most datasets
    )
    named = set(args.datasets.split(",")) - {""}
    if named - set(tasks.index):
        parser.error(
            f"--datasets: no seed runs in the KB for {', '.join(sorted(named - set(tasks.index)))}"
        )
    chosen = [
        d for d in chosen
        if (not named or d.name in named)
        and (args.task is None or tasks[d.name] == args.task)
        and (not args.below_rows or rows_of[d.name] < args.below_rows)
    ]  # fmt: skip
    if not chosen:
        parser.error("no seed dataset with runs in the KB matches --datasets, --task, --below-rows")
    args.out.mkdir(parents=True, exist_ok=True)
    # the results file is the candidate list's and the seeds': a rerun of both resumes it
    screened = {"seeds": args.seeds, **{n: c.to_dict() for n, c in candidates.items()}}
    listed = json.dumps(screened, sort_keys=True)
    digest = hashlib.sha256(listed.encode()).hexdigest()[:10]
    store, results = args.out / "trained.jsonl", args.out / f"recipe_screen-{digest}.jsonl"
    if not store.exists():
        with store.open("w") as handle:
            for path in args.trained or TRAINED:
                if path.is_file():
                    handle.write(path.read_text())
    done = set(pd.read_json(results, lines=True)["dataset"]) if results.exists() else set()
    todo = [d for d in chosen if d.name not in done]
    print(f"{len(chosen) - len(todo)} datasets already in {results}; {len(todo)} to screen")
    with ProcessPoolExecutor(
        args.workers, initializer=_worker_init, initargs=(str(kb_path), str(store))
    ) as pool:
        jobs = [pool.submit(_screen_job, d, candidates, args.seeds) for d in todo]
        for job in as_completed(jobs):
            row = job.result()
            with results.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            margins = ", ".join(f"{n} {_margin(row, n)}" for n in candidates)
            print(f"{row['dataset']} ({row['n_rows']} rows): {margins}", flush=True)
    frame = pd.read_json(results, lines=True)
    frame = frame[frame["dataset"].isin({d.name for d in chosen})]
    print(
        f"datasets where each candidate beats the library default, of {len(frame)} screened "
        f"(mean of {args.seeds} training seeds each; in brackets the median margin in the "
        "objective, higher is better)"
    )
    print(summary(frame, list(candidates)).to_string())


if __name__ == "__main__":
    main()
