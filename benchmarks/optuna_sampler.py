"""The Optuna integration, side by side with Optuna's TPE in one run: the sampler's overhead per
trial, and its quality on held-out seed datasets.

Overhead: `--trials` trials of a cheap objective (`search_overhead.objective`) over the default
space as Optuna sees it; a timing wrapper adds up the sampler's own time per trial (before_trial,
every sample call, after_trial). `RecommenderSampler` runs with the defaults a user gets (a new KB
file, which holds the shipped seed runs; `log_to_kb=False`). `--baseline DIR` also times the
sampler of another source tree (e.g. the commit before, `git archive`) in a subprocess, and with
`--quality` runs it too.

Quality (`--quality`): for each held-out seed dataset, the sampler learns from the seed KB minus
that dataset and runs `--budget` trials of real training (2500 rows, 20 epochs, as the seed
build); TPE runs twice as many. Best-so-far normalised regret as in `search_quality.py` (0 = the
best of the dataset's seed runs, 1 = their median).

    python benchmarks/optuna_sampler.py                          # overhead, 50 trials
    python benchmarks/optuna_sampler.py --baseline /tmp/before   # and the sampler before
    python benchmarks/optuna_sampler.py --quality --seeds 2 --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TREE = Path(sys.argv[sys.argv.index("--tree") + 1]) if "--tree" in sys.argv else ROOT
sys.path.insert(0, str(TREE))  # run from a checkout (or `--tree`) without installing the package

import numpy as np  # noqa: E402
import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from benchmarks._optuna_space import suggest_config  # noqa: E402
from benchmarks.search_overhead import objective as cheap_objective  # noqa: E402
from recommender.space import default_space  # noqa: E402

WINE = ROOT / "examples" / "wine.csv"


class Timed(optuna.samplers.BaseSampler):
    """Another sampler, with the seconds spent in its hooks added up."""

    def __init__(self, inner: optuna.samplers.BaseSampler) -> None:
        self.inner, self.seconds = inner, 0.0
        self.per_trial: list[float] = []  # seconds of each finished trial

    def _timed(self, method: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return getattr(self.inner, method)(*args)
        finally:
            self.seconds += time.perf_counter() - started

    def infer_relative_search_space(self, *args: Any) -> Any:
        return self._timed("infer_relative_search_space", *args)

    def sample_relative(self, *args: Any) -> Any:
        return self._timed("sample_relative", *args)

    def sample_independent(self, *args: Any) -> Any:
        return self._timed("sample_independent", *args)

    def before_trial(self, *args: Any) -> None:
        self._timed("before_trial", *args)

    def after_trial(self, *args: Any) -> None:
        self._timed("after_trial", *args)
        self.per_trial.append(self.seconds - sum(self.per_trial))


def recommender_sampler(kb: Path, dataset: Any, target: str, seed: int) -> Any:
    from recommender.integrations.optuna import RecommenderSampler

    return RecommenderSampler(kb=kb, dataset=dataset, target=target, seed=seed)


def overhead(name: str, trials: int) -> tuple[float, float]:
    """Seconds inside the sampler `name` ("recommender" or "tpe"): the first trial (which opens
    the search: the KB surrogate's one-off fit), and the mean of the others."""
    space = default_space()
    if name == "tpe":
        inner = optuna.samplers.TPESampler(seed=0)
    else:
        inner = recommender_sampler(Path(tempfile.mkdtemp()) / "kb.duckdb", WINE, "cultivar", 0)
    sampler = Timed(inner)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda t: cheap_objective(suggest_config(t, space)), n_trials=trials)
    return sampler.per_trial[0], float(np.mean(sampler.per_trial[1:]))


def held_out_kb(seed_kb: Path, dataset_name: str, folder: Path) -> Path:
    """A KB file with every row of the seed KB but those of `dataset_name` (matched by name)."""
    import pyarrow.parquet as parquet

    from knowledge_base import KnowledgeBase

    export = folder / "export"
    KnowledgeBase(seed_kb).export_parquet(export)
    datasets = parquet.read_table(export / "datasets.parquet").to_pandas()
    dropped = set(datasets.loc[datasets["name"] == dataset_name, "id"])
    runs = parquet.read_table(export / "runs.parquet").to_pandas()
    dropped_runs = set(runs.loc[runs["dataset_id"].isin(dropped), "id"])
    for file in export.glob("*.parquet"):
        frame = parquet.read_table(file).to_pandas()
        for column, ids in (("dataset_id", dropped), ("run_id", dropped_runs)):
            if column in frame:
                frame = frame[~frame[column].isin(ids)]
        if file.stem == "datasets":
            frame = frame[~frame["id"].isin(dropped)]
        frame.to_parquet(file, index=False)
    path = folder / "held_out.duckdb"
    KnowledgeBase(path).import_parquet(export)
    return path


def study_values(label: str, dataset: str, seed: int, trials: int, kb: Path) -> list[float]:
    """The objective values of `trials` real trainings on `dataset`, proposed by `label`'s
    sampler ("recommender", learning from `kb`, or "tpe")."""
    from benchmarks.search_quality import _train_value
    from recommender.learn import objective_for
    from scripts.seed_datasets import load_seed_table, seed_datasets
    from training import prepare
    from training.metrics import METRIC_DIRECTIONS

    table = load_seed_table(next(d for d in seed_datasets() if d.name == dataset), 2500)
    data = prepare(table, seed=0)  # the seed build's split
    metric = objective_for(table.task)
    sampler = (
        recommender_sampler(kb, table, table.target, seed)
        if label == "recommender"
        else optuna.samplers.TPESampler(seed=seed)
    )
    study = optuna.create_study(direction=METRIC_DIRECTIONS[metric], sampler=sampler)
    values = []
    for _ in range(trials):
        trial = study.ask()
        value, _ = _train_value(suggest_config(trial, default_space()), data, metric, 20)
        values.append(value)
        ok = math.isfinite(value)
        study.tell(trial, value if ok else None, state=None if ok else TrialState.FAIL)
    return values


def quality(datasets: list[str], seeds: int, budget: int, baseline: Path | None) -> None:
    """Print each run's final regret and the mean best-so-far regret per sampler."""
    from benchmarks._seed_kb import seed_kb
    from benchmarks.search_quality import regrets
    from knowledge_base import KnowledgeBase
    from recommender.learn import objective_for
    from training.metrics import METRIC_DIRECTIONS

    kb_path = seed_kb()
    seed_runs = KnowledgeBase(kb_path)
    names = seed_runs.datasets().drop_duplicates("name").set_index("name")
    labels = [("recommender", budget), ("tpe", 2 * budget)]
    if baseline is not None:
        labels.insert(1, ("recommender (baseline)", budget))
    curves: dict[str, list[np.ndarray]] = {label: [] for label, _ in labels}
    for dataset in datasets:
        direction = METRIC_DIRECTIONS[objective_for(str(names.loc[dataset, "task"]))]
        reference = seed_runs.runs(dataset_id=names.loc[dataset, "id"], source="seed", status="ok")[
            "value"
        ].to_numpy(dtype=float)
        held_out = held_out_kb(kb_path, dataset, Path(tempfile.mkdtemp()))
        for seed in range(seeds):
            for label, n in labels:
                if label == "recommender (baseline)":
                    argv = ["--tree", str(baseline), "--values", dataset, str(seed), str(n)]
                    done = subprocess.run(
                        [sys.executable, __file__, *argv, str(held_out)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    values = json.loads(done.stdout.splitlines()[-1])
                else:
                    values = study_values(label, dataset, seed, n, held_out)
                curve = regrets(values, reference, direction)
                curves[label].append(curve)
                print(f"  {dataset:<28}{label:<24}seed {seed}: regret @{n} {curve[-1]:.3f}")
    print(
        f"\nmean best-so-far normalised regret, {len(datasets)} held-out datasets x {seeds} "
        "seeds (0 = best seed run, 1 = median seed run)"
    )
    marks = [m for m in (1, 5, 10, 20, 40) if m <= 2 * budget]
    print(f"{'sampler':<24}" + "".join(f"{f'@{m}':>9}" for m in marks))
    for label, n in labels:
        mean = np.mean(curves[label], axis=0)
        print(
            f"{label:<24}"
            + "".join(f"{mean[m - 1]:>9.3f}" if m <= n else f"{'':>9}" for m in marks)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--baseline", type=Path, help="another source tree to time the sampler of")
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)  # the baseline's subprocess
    parser.add_argument("--values", nargs=4, help=argparse.SUPPRESS)  # DATASET SEED TRIALS KB
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--datasets", default="islr_oj,mroz_lfp")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--budget", type=int, default=10)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if args.tree is not None:
        import recommender

        assert Path(recommender.__file__).is_relative_to(args.tree.resolve()), recommender.__file__
        if args.values:
            dataset, seed, trials, kb = args.values
            print(
                json.dumps(study_values("recommender", dataset, int(seed), int(trials), Path(kb)))
            )
        else:
            print(json.dumps({"recommender": overhead("recommender", args.trials)}))
        return
    if args.quality:
        baseline = args.baseline.resolve() if args.baseline else None
        quality(args.datasets.split(","), args.seeds, args.budget, baseline)
        return
    figures = {
        "tpe": overhead("tpe", args.trials),
        "recommender": overhead("recommender", args.trials),
    }
    if args.baseline is not None:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--tree",
                str(args.baseline.resolve()),
                "--trials",
                str(args.trials),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        figures["recommender (baseline)"] = json.loads(done.stdout.splitlines()[-1])["recommender"]
    print(
        f"sampler overhead, {args.trials} trials of a cheap objective (default space, fresh "
        f"seeded KB)\n  {'sampler':<26}{'trial 1 (s)':>12}{'later (ms/trial)':>18}{'vs TPE':>9}"
    )
    tpe = figures["tpe"][1]
    for name, (first, later) in figures.items():
        print(f"  {name:<26}{first:>12.2f}{later * 1000:>18.1f}{later / tpe:>8.1f}x")


if __name__ == "__main__":
    main()
