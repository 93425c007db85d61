"""Search quality, leave-one-dataset-out: anytime normalised regret of `tune`'s strategies and of
Optuna TPE and CMA-ES, all driving the same training engine with the same budget (trials).

For each held-out seed dataset, the knowledge base the strategies learn from is the seed KB minus
that dataset (its runs and meta-features, matched by name).

Two modes:
- default (`--max-rows 2500 --max-epochs 20`, no pruning): every trial trains like the seed runs
  did, so values are normalised against the held-out dataset's own seed runs.
- `--real-size`: what users run. Tables up to 20,000 rows, trials up to 50 epochs, every
  strategy with its defaults, the pruner included (`tune`'s default pruner for `tune`'s
  strategies; Optuna's samplers get no pruner, as a user who wraps this trainer in an Optuna
  objective without `trial.report` would run them). Values are normalised against every trial any
  strategy ran on that dataset in this benchmark (seed runs were made at another size). Optuna's
  samplers run `--anchor-budget` trials (default: twice the budget), so "tune at 10 against TPE at
  20" and "20 against 40" are read off one run. Also reported: epochs trained per strategy and,
  per dataset, whether `surrogate` at n trials is at least as good as TPE at 2n.

Normalised regret of a value v, in the objective's better-is-higher orientation s (s = -v for
log loss, s = v for r2):  (s_best - s(v)) / (s_best - s_median), where s_best and s_median are the
best and the median of the reference values (above). 0 = as good as the best reference value,
1 = as good as the median one. A failed or diverged trial counts as the worst reference value.
Reported: the best-so-far regret after 1, 5, 10, 20 (and 40) trials, averaged over datasets and
seeds.

`grid` searches `GRID_SPACE` (optimizer x learning rate x batch size x weight decay, 40 cells, the
other hyperparameters at TrainConfig's defaults): a grid over the whole default space has millions
of cells. Every other strategy searches the default space. `pbt` trains each population of
5 (one architecture) together and counts each member as a trial.

`--test-split` scores what a search would hand its user: 20% of the table's rows (the seed
build's split, seed 0) are set aside before the search, which runs on the rest; after each trial
the search's incumbent (its best validation value so far) is retrained as its trial was and
scored once on those rows, and regret is normalised against every such test score on the
dataset. Without it, regret is that of validation values, on which the searches also select: a
longer trial then has more epochs in which a noisy validation score can peak, which favours
searches that train more epochs (no pruning) on small tables. A trial ended as converged is
retrained under its own early stopping, not stopped where the pruner ended it. The report then
also prints the incumbents' mean test scores, their optimism (validation value less test score,
in the objective's better direction: what selecting on a small validation split promised and did
not keep) and, per dataset, on how many seeds each search's incumbent is ahead of or level with
another's (a count, which one lucky tie-break on a tiny table cannot swing as it swings a mean
of normalised regrets).

`--resplit` lets seed s draw its own rows as well: `prepare`'s seed s for the test split and for
the validation split (seed 0 is the default split, so a job made without it is seed 0's). With one
split, every seed's search selects on the same validation rows and is scored on the same test
rows, so a mean over seeds averages the search's luck but not the split's, and on a table of a
few hundred rows the split can decide which search looks better. The strategies of one seed share
its split (a paired comparison), and values are normalised per dataset and split.

Each finished job is printed and appended to `benchmarks/out/<name>_jobs.jsonl` as it ends, so
a run cut short keeps what it measured: `--from-jobs FILE` prints the tables of such a file.
Jobs start seed by seed (every dataset and strategy of seed 0, then of seed 1, ...), so a run
cut short holds whole seeds, whose tables compare like with like, not some datasets' seeds only.
`--reuse-jobs FILE` takes the jobs of FILE that trained without tune's pruner (unpruned, and
Optuna's) and match one of this run's (same dataset, strategy label, seed, budget, rows and
epochs, and a KB of as many runs) instead of running them, so a change to the pruner retrains only
the pruned strategies (`surrogate` next to `surrogate:none` and `tpe`). `--resume` takes every
matching job of this run's own jobs file, pruned or not, and appends the rest to it: a long run
cut short goes on where it stopped (without it, a run starts that file afresh).
A strategy written `NAME/N` proposes and trains its trials in batches of N (`tune --batch N`:
`recommender.search.ask_batch`, `training.train_many`), so `surrogate,surrogate/4` compares
batched search with one trial at a time; the report adds each strategy's mean wall time per job.
Training is deterministic on one machine and torch build, not across them (the last bits of a
value differ, and a search then takes another path): reuse jobs made on the same machine with the
same code for what they ran.

    python benchmarks/search_quality.py --datasets islr_oj,mroz_lfp --seeds 2 --budget 20
    python benchmarks/search_quality.py --quick      # one dataset, one seed, 5 trials
    python benchmarks/search_quality.py --real-size --strategies surrogate,random,tpe --budget 20
    python benchmarks/search_quality.py --real-size \
        --from-jobs benchmarks/out/search_quality_real_jobs.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from benchmarks._seed_kb import SHIPPED_SEED_KB, seed_kb  # noqa: E402
from benchmarks.vs_realmlp import fit_and_test, score_config  # noqa: E402
from knowledge_base import KnowledgeBase  # noqa: E402
from recommender.learn import load_view, objective_for  # noqa: E402
from recommender.settings import TuneSettings  # noqa: E402
from recommender.space import SearchSpace, default_space  # noqa: E402
from training import TrainConfig, prepare, train  # noqa: E402
from training.metrics import METRIC_DIRECTIONS, is_better  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
CHECKPOINTS = (1, 5, 10, 20, 40)
LABEL_WIDTH = 16  # strategy labels in the printed tables, e.g. "surrogate:none"
STRATEGIES = ("surrogate", "portfolio", "random", "grid", "evolution", "pbt", "tpe", "cmaes")
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
    test, split = None, _split(job)
    if job.get("test_split"):  # the searches never see the test rows
        table, test = fit_and_test(table, split)
    data = prepare(table, seed=split)  # 0: the seed build's split
    objective = objective_for(table.task)
    space = default_space()
    started = time.perf_counter()
    if job["strategy"] in OPTUNA_SAMPLERS:
        values, epochs, configs = _optuna(data, space, objective, job)
    else:
        if job["strategy"] == "grid":
            space = SearchSpace.from_dict(GRID_SPACE)
        values, epochs, configs = _tune_strategy(table, data, space, objective, job)
    seconds = time.perf_counter() - started
    done = {**job, "values": values, "epochs": epochs, "seconds": seconds}
    if test is not None:
        done["test_values"] = incumbents_on_test(values, configs, objective, table, test, split)
    return done


def incumbents_on_test(
    values: list[float],
    configs: list[dict[str, Any]],
    objective: str,
    fit: Any,
    test: Any,
    split_seed: int = 0,
) -> list[float]:
    """After each trial, the test score of the search's incumbent (its best validation value so
    far), each incumbent retrained as its trial was (same rows, split and seed) and scored once on
    the untouched test rows; NaN before a first usable trial."""
    direction = METRIC_DIRECTIONS[objective]
    scored: dict[int, float] = {}
    out, best, best_value = [], None, math.nan
    for i, value in enumerate(values):
        if is_better(value, best_value, direction):
            best, best_value = i, value
        if best is not None and best not in scored:
            cfg = TrainConfig.from_dict(configs[best], ignore_unknown=True)
            scores = score_config(cfg, fit, test, split_seed)
            scored[best] = scores.get(objective, math.nan)
        out.append(math.nan if best is None else scored[best])
    return out


def _train_value(cfg: TrainConfig, data: Any, objective: str) -> tuple[float, int]:
    result = train(cfg, data, device="cpu", seed=0, metric=objective)
    value = result.value if result.status in ("ok", "pruned") else math.nan
    return value, result.epochs_run


def _tune_strategy(
    table: Any, data: Any, space: Any, objective: str, job: dict
) -> tuple[list[float], list[int], list[dict[str, Any]]]:
    from knowledge_base import DatasetRecord, RunRecord
    from recommender import open_study
    from recommender._wiring import make_pruner
    from recommender.executors import SequentialExecutor
    from recommender.learn import compute_meta_features
    from recommender.tune import run_study

    kb = KnowledgeBase(job["kb"])
    view = load_view(kb, objective)
    for dataset_id in kb.datasets().query("name == @table.name")["id"]:
        view = view.without(dataset_id)  # held out by name: another row cap, another fingerprint
    features = compute_meta_features(table)
    study = open_study(
        KnowledgeBase(":memory:"), space, DatasetRecord.from_table(table), meta_features=features,
        objective=objective, direction=METRIC_DIRECTIONS[objective], strategy=job["strategy"],
        warm_start=5, budget=job["budget"], seed=job["seed"], max_epochs=job["max_epochs"],
        view=view, pruner=make_pruner(job["pruner"], kb=kb, view=view, objective=objective),
    )
    run_study(study, SequentialExecutor(data, device="cpu", seed=0, metric=objective),
              budget=job["budget"], batch=job.get("batch", 1))
    trials = study.trials()
    usable = trials["status"].isin(["ok", "pruned"])
    values = trials["value"].where(usable, math.nan).astype(float).tolist()
    configs = [RunRecord.from_row(row).config for row in study.kb.run_rows(study_id=study.id)]
    return values, trials["epochs_run"].astype(int).tolist(), configs


OPTUNA_SAMPLERS = ("tpe", "cmaes")


def _optuna(
    data: Any, space: Any, objective: str, job: dict
) -> tuple[list[float], list[int], list[dict[str, Any]]]:
    import optuna

    from benchmarks._optuna_space import suggest_config

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*CmaEsSampler.*")  # categorical: independent
    sampler = (optuna.samplers.TPESampler(seed=job["seed"]) if job["strategy"] == "tpe" else
               optuna.samplers.CmaEsSampler(seed=job["seed"], warn_independent_sampling=False))
    study = optuna.create_study(direction=METRIC_DIRECTIONS[objective], sampler=sampler)
    values, epochs, configs = [], [], []
    for _ in range(job["budget"]):
        trial = study.ask()
        cfg = TrainConfig.from_dict(suggest_config(trial, space))
        cfg = cfg.replace(max_epochs=min(cfg.max_epochs, job["max_epochs"]))
        value, ran = _train_value(cfg, data, objective)
        if math.isfinite(value):
            study.tell(trial, value)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        values.append(value)
        epochs.append(ran)
        configs.append(cfg.to_dict())
    return values, epochs, configs


def regrets(
    values: list[float], reference: np.ndarray, direction: str, running_best: bool = True
) -> np.ndarray:
    """Best-so-far normalised regret after each trial (see the module docstring); with
    `running_best` False, `values` are already the incumbents' (test) scores, taken as they are:
    their running best would select on the split they are scored on."""
    sign = 1.0 if direction == "maximize" else -1.0
    ref = sign * reference[np.isfinite(reference)]
    best, median, worst = ref.max(), np.median(ref), ref.min()
    s = np.where(np.isfinite(values), sign * np.asarray(values, dtype=float), worst)
    return (best - (np.maximum.accumulate(s) if running_best else s)) / (best - median)


def optimism(done: dict[str, Any], direction: str) -> np.ndarray:
    """After each trial, how much better the incumbent's validation value is than its test
    score, in the objective's better direction: what selecting on a small validation split
    promises and the incumbent does not keep (> 0)."""
    sign = 1.0 if direction == "maximize" else -1.0
    validation = np.fmax.accumulate(sign * np.asarray(done["values"], dtype=float))
    return validation - sign * np.asarray(done["test_values"], dtype=float)


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
    parser.add_argument("--kb", type=Path, default=SHIPPED_SEED_KB, help="the seed knowledge base")
    parser.add_argument("--datasets", default="islr_oj,swiss_labor_participation,mroz_lfp")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--anchor-budget", type=int, help="Optuna's trials (default: --budget, "
                        "twice it with --real-size)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help="comma-separated; NAME:PRUNER runs a strategy with another pruner "
                        "(surrogate:none next to surrogate compares pruning in one run), "
                        "NAME/N in batches of N (tune's strategies)")
    parser.add_argument("--max-rows", type=int, help="default 2500 (as the seed build), "
                        "20000 with --real-size")
    parser.add_argument("--max-epochs", type=int, help="default 20 (as the seed build), "
                        "50 with --real-size")
    parser.add_argument("--pruner", help="for tune's strategies; default none, or tune's default "
                        "with --real-size")
    parser.add_argument("--real-size", action="store_true", help="what users run (see above)")
    parser.add_argument("--test-split", action="store_true", help="regret of each search's "
                        "incumbent on an untouched test split, not of its validation values "
                        "(see above)")
    parser.add_argument("--resplit", action="store_true", help="seed s also draws its own test and "
                        "validation split (prepare's seed s; seed 0 is the default split), so the "
                        "mean over seeds averages the luck of the split too (see above)")
    parser.add_argument("--workers", type=whole_number(1), default=2)
    parser.add_argument("--quick", action="store_true", help="one dataset, one seed, 5 trials")
    parser.add_argument("--reuse-jobs", type=Path, help="take the matching jobs of this file "
                        "that tune's pruner played no part in instead of running them (see above)")
    parser.add_argument("--resume", action="store_true", help="take every matching job of this "
                        "run's own jobs file (a run cut short) and append the rest to it")
    parser.add_argument("--from-jobs", type=Path, help="no training: the tables of the jobs "
                        "saved in this file (a run cut short)")
    args = parser.parse_args()
    for option, path in (("--reuse-jobs", args.reuse_jobs), ("--from-jobs", args.from_jobs)):
        if path is not None and not path.is_file():
            parser.error(f"{option}: {path} is not a file (a jobs file this script wrote)")
    real = args.real_size
    if args.resplit and not (real or args.test_split):
        parser.error("--resplit needs --real-size or --test-split: without them values are "
                     "normalised against the seed runs, which trained on the seed build's split")
    args.max_rows = args.max_rows or (20_000 if real else 2500)
    args.max_epochs = args.max_epochs or (50 if real else 20)
    args.pruner = args.pruner or (TuneSettings.pruner if real else "none")
    args.anchor_budget = args.anchor_budget or (2 * args.budget if real else args.budget)
    args.kb = seed_kb(args.kb)
    if args.quick:
        args.datasets, args.seeds, args.budget = args.datasets.split(",")[0], 1, 5
        args.anchor_budget = min(args.anchor_budget, 2 * args.budget)
    kb_path = snapshot(args.kb)
    kb = KnowledgeBase(kb_path)
    datasets = kb.datasets().drop_duplicates("name").set_index("name")
    names = args.datasets.split(",")
    missing = [n for n in names if n not in datasets.index]
    if missing:
        sys.exit(f"not in {args.kb}: {', '.join(missing)}")
    jobs = [{"dataset": n, "strategy": s, "seed": seed, "kb": str(kb_path),
             "budget": args.anchor_budget if s in OPTUNA_SAMPLERS else args.budget,
             "max_rows": args.max_rows, "max_epochs": args.max_epochs,
             "pruner": spec.partition(":")[2] or args.pruner, "label": token,
             "batch": _batch_size(parser, token), "kb_runs": int(datasets["n_runs"].sum()),
             "test_split": args.test_split, "split_seed": seed if args.resplit else 0}
            for seed in range(args.seeds) for n in names for token in args.strategies.split(",")
            for spec in [token.partition("/")[0]] for s in [spec.partition(":")[0]]]
    print(f"{len(jobs)} jobs on {len(names)} held-out datasets ({args.max_rows} rows, "
          f"{args.max_epochs} epochs, pruner {args.pruner}); KB: {len(datasets)} datasets, "
          f"{int(datasets['n_runs'].sum())} runs", flush=True)
    name = ("search_quality_real" if real else "search_quality") + (
        "_test" if args.test_split else "")
    OUT.mkdir(parents=True, exist_ok=True)
    if args.from_jobs is not None:
        done_jobs = [json.loads(line) for line in args.from_jobs.read_text().splitlines()]
        if args.test_split and not all("test_values" in done for done in done_jobs):
            parser.error(f"--test-split: {args.from_jobs} holds jobs run without --test-split "
                         "(no test scores); drop --test-split to read their validation values")
    else:
        log = OUT / f"{name}_jobs.jsonl"
        source = log if args.resume and log.is_file() else args.reuse_jobs
        reused = _reusable(jobs, source, pruned_too=args.resume) if source is not None else []
        if not args.resume:  # a fresh log: the reused jobs, then this run's
            log.write_text("".join(json.dumps(done) + "\n" for done in reused))
        reused_keys = {_job_key(done) for done in reused}
        todo = [job for job in jobs if _job_key(job) not in reused_keys]
        print(f"{len(reused)} jobs reused from {source}, {len(todo)} to run", flush=True)
        done_jobs = reused + _run_jobs(todo, args.workers, log)
    rows = []
    scored = "test_values" if args.test_split else "values"
    for done in done_jobs:
        direction = METRIC_DIRECTIONS[objective_for(datasets.loc[done["dataset"], "task"])]
        if real or args.test_split:
            reference = np.concatenate([d[scored] for d in done_jobs if _same_split(d, done)])
        else:
            seed_runs = kb.runs(dataset_id=datasets.loc[done["dataset"], "id"], source="seed",
                                status="ok")
            reference = seed_runs["value"].to_numpy(dtype=float)
        curve = regrets(done[scored], reference, direction, running_best=not args.test_split)
        gaps = optimism(done, direction) if args.test_split else np.full(len(curve), np.nan)
        for trial, (value, ran, regret, gap) in enumerate(
            zip(done[scored], done["epochs"], curve, gaps, strict=True), 1
        ):
            rows.append({"dataset": done["dataset"], "strategy": done["label"],
                         "seed": done["seed"], "trial": trial, "value": value, "epochs": ran,
                         "regret": regret, "optimism": gap, "seconds": done["seconds"]})
    frame = pd.DataFrame(rows)
    if not args.test_split:  # validation values only: no test score to be optimistic about
        frame = frame.drop(columns="optimism")
    frame.to_csv(OUT / f"{name}.csv", index=False)
    report(frame, name, test_split=args.test_split)


def _batch_size(parser: argparse.ArgumentParser, token: str) -> int:
    """N of a `NAME/N` strategy token (1 without one); a usage error names a bad N."""
    name, slash, size = token.partition("/")
    if not slash:
        return 1
    if not size.isdigit() or int(size) < 1 or name.partition(":")[0] in OPTUNA_SAMPLERS:
        parser.error(f"--strategies: {token!r}: NAME/N needs one of tune's strategies and a "
                     "batch size N >= 1")
    return int(size)


def _job_key(job: dict[str, Any]) -> tuple:
    """What makes two jobs the same run (the KB snapshot's path does not)."""
    return (*(job[k] for k in ("dataset", "label", "pruner", "seed", "budget", "max_rows",
                               "max_epochs")), job.get("batch", 1), job.get("test_split", False),
            _split(job))


def _same_split(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two jobs ran on the same dataset and the same rows (test and validation split)."""
    return a["dataset"] == b["dataset"] and _split(a) == _split(b)


def _split(job: dict[str, Any]) -> int:
    """The seed of the job's test and validation split (`--resplit`); a job made before the
    option ran on the default split, 0."""
    return job.get("split_seed", 0)


def _reusable(
    jobs: list[dict[str, Any]], path: Path, pruned_too: bool = False
) -> list[dict[str, Any]]:
    """The finished jobs in `path` that match one of `jobs` and learned from a KB of as many
    runs (a file from before that was recorded: any), trained without tune's pruner (unpruned,
    or Optuna's samplers, which never use it) unless `pruned_too`."""
    wanted = {
        _job_key(job): job
        for job in jobs
        if pruned_too or job["pruner"] == "none" or job["strategy"] in OPTUNA_SAMPLERS
    }
    found: dict[tuple, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        done = json.loads(line)
        job = wanted.get(_job_key(done))
        if job is not None and done.get("kb_runs", job["kb_runs"]) == job["kb_runs"]:
            found.setdefault(_job_key(done), done)
    return list(found.values())


def _run_jobs(jobs: list[dict[str, Any]], workers: int, log: Path) -> list[dict[str, Any]]:
    """Run `jobs`; each is printed and appended to `log` as it ends."""
    done_jobs = []
    with ProcessPoolExecutor(workers) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                done = future.result()
            except Exception as exc:  # one broken job must not lose the others' hour
                job = futures[future]
                print(f"  {job['dataset']:<28}{job['label']:<{LABEL_WIDTH}}seed {job['seed']}: "
                      f"failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            print(f"  {done['dataset']:<28}{done['label']:<{LABEL_WIDTH}}seed {done['seed']}: "
                  f"{sum(done['epochs'])} epochs ({done['seconds']:.0f} s)", flush=True)
            with log.open("a") as out:
                out.write(json.dumps(done) + "\n")
            done_jobs.append(done)
    return done_jobs


def report(frame: pd.DataFrame, name: str, test_split: bool = False) -> None:
    """Print the regret table (with `test_split`, also the incumbents' mean test scores per
    dataset), epochs and per-dataset wins against TPE; write the anytime plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = frame.groupby(["strategy", "trial"])["regret"].mean().unstack("strategy")
    marks = [t for t in CHECKPOINTS if t <= mean.index.max()]
    print(f"\nmean best-so-far normalised regret (0 = best reference value, 1 = median one), "
          f"{frame['dataset'].nunique()} held-out datasets x {frame['seed'].nunique()} seeds")
    print(f"{'strategy':<{LABEL_WIDTH}}" + "".join(f"{f'@{t}':>9}" for t in marks))
    for strategy in mean.columns:
        print(f"{strategy:<{LABEL_WIDTH}}" + "".join(
            f"{mean.loc[t, strategy]:>9.3f}" if t in mean.index and
            math.isfinite(mean.loc[t, strategy]) else f"{'':>9}" for t in marks))
    last = frame.groupby(["strategy", "dataset"])["trial"].max().min()
    per_dataset = frame[frame["trial"] == last].groupby(["strategy", "dataset"])["regret"].mean()
    print(f"\nregret @{last} per held-out dataset (mean over seeds)")
    print(per_dataset.unstack("dataset").round(3).to_string())
    if test_split:  # raw scores: a normalised regret of a few incumbents' scores is noisy
        at = frame[frame["trial"].isin([t for t in marks if t > 1])]
        scores = at.groupby(["dataset", "trial", "strategy"])["value"].mean()
        print("\nmean test score (the objective) of the incumbent, per dataset and trials run")
        print(scores.unstack("strategy").round(4).to_string())
        gaps = at.groupby(["dataset", "trial", "strategy"])["optimism"].mean()
        print("\nmean optimism of the incumbent: its validation value less its test score, in the "
              "objective's better direction (> 0: worse on test than its validation said)")
        print(gaps.unstack("strategy").round(4).to_string())
        paired_counts(at)
        later_against_early(at)
    _epochs_and_wins(frame)
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
    fig.savefig(OUT / f"{name}.png", dpi=120)
    print(f"wrote {OUT / name}.png and {OUT / name}.csv")


def paired_counts(at: pd.DataFrame) -> None:
    """Per held-out dataset, on how many seeds one strategy's incumbent is at least as good as
    another's after the same trials (both searches start from the same first trial): a count
    that one lucky tie-break cannot swing as it swings a mean of normalised regrets."""
    wide = at.pivot_table(index=["dataset", "seed", "trial"], columns="strategy",
                          values="regret")
    for first, second in itertools.combinations(wide.columns, 2):
        both = wide[[first, second]].dropna()
        if both.empty:  # no test score to compare (e.g. one job: no spread to normalise by)
            continue
        ahead_or_level = both[first] <= both[second]
        table = _share(ahead_or_level.groupby(["dataset", "trial"])).unstack("trial")
        table.loc["all"] = _share(ahead_or_level.groupby("trial"))
        print(f"\nseeds on which {first} is ahead of or level with {second}, after n trials")
        print(table.rename(columns=lambda t: f"@{t}").to_string())


def _share(groups: Any) -> pd.Series:
    """"k/n": how many of each group's booleans are true, of how many."""
    return groups.sum().astype(int).astype(str) + "/" + groups.size().astype(str)


def later_against_early(at: pd.DataFrame) -> None:
    """Per strategy, the jobs whose incumbent after the last checkpoint's trials scores better,
    the same or worse on test than after the first's: on a small table the later incumbent
    can be a configuration picked for a lucky validation score."""
    wide = at.pivot_table(index=["strategy", "dataset", "seed"], columns="trial",
                          values="regret")
    if len(wide.columns) < 2:  # one checkpoint (a 5-trial budget) or no usable regret
        return
    first, last = wide.columns.min(), wide.columns.max()
    change = (wide[last] - wide[first]).dropna()
    print(f"\njobs whose incumbent at @{last} is better / the same / worse on test than at "
          f"@{first}")
    for strategy, delta in change.groupby("strategy"):
        print(f"  {strategy:<{LABEL_WIDTH}}{(delta < 0).sum()} / {(delta == 0).sum()} / "
              f"{(delta > 0).sum()} of {delta.size}")


def _epochs_and_wins(frame: pd.DataFrame) -> None:
    """Epochs trained per strategy (first `--budget` trials), and per held-out dataset (mean over
    seeds) whether each strategy at n trials is at least as good as TPE at 2n."""
    budget = int(frame.loc[~frame["strategy"].isin(OPTUNA_SAMPLERS), "trial"].max())
    first = frame[frame["trial"] <= budget]
    epochs = first.groupby(["strategy", "dataset", "seed"])["epochs"].sum()
    seconds = frame.groupby(["strategy", "dataset", "seed"])["seconds"].first()
    print(f"\nepochs trained in {budget} trials, and wall seconds per job (mean per dataset and "
          "seed; Optuna's jobs run their own budget)")
    for strategy, value in epochs.groupby("strategy").mean().items():
        print(f"  {strategy:<{LABEL_WIDTH}}{value:>9.0f}{seconds[strategy].mean():>9.0f} s")
    if "tpe" not in set(frame["strategy"]):
        return
    at = frame.groupby(["dataset", "strategy", "trial"])["regret"].mean()
    for n in (10, 20):
        if (frame["strategy"].eq("tpe") & frame["trial"].eq(2 * n)).sum() == 0:
            continue
        print(f"datasets where a strategy at {n} trials is at least as good as TPE at {2 * n}:")
        names = sorted({d for d, s, t in at.index if s == "tpe" and t == 2 * n})  # TPE finished
        for strategy in sorted(set(frame["strategy"]) - set(OPTUNA_SAMPLERS)):
            wins = sum(at.get((d, strategy, n), math.inf) <= at[(d, "tpe", 2 * n)] for d in names)
            print(f"  {strategy:<{LABEL_WIDTH}}{wins} of {len(names)}")


if __name__ == "__main__":
    main()
