"""Does the learned pruner's curve model carry over to longer runs than it learned from?

The default pruner (`recommender.search.LearnedPruner`) stops a trial when its curve model's
optimistic bound stays behind the incumbent. The shipped seed KB's curves were all capped at 20
epochs; `tune` at real size trains up to `max_epochs` (20..200 in the default space). This replays
the pruner offline (no training) on the long curves of the wide seed build's partial export
(`scripts/seed_kb_partial/`, `max_epochs` sampled up to 200, early stopping), dataset by dataset:
runs in a fixed pseudo-random order, the incumbent is the best final value of the runs before,
and a run is stopped at the first epoch where the pruner would stop it (`LearnedPruner`'s rule:
from epoch 2, not before the learning rate's peak). Two curve models:

- fitted on the shipped seed KB's curves (what a user's KB learns from today);
- fitted on those plus the long curves of the *other* partial-build datasets (leave one dataset
  out), what a KB with the wide build would learn from.

Printed per model: runs stopped, stopped runs that would have become the new incumbent (of how
many did), and the share of epochs saved. `--held-out-seed` replays the shipped seed's own
(20-epoch) curves instead, each fifth of its datasets judged by a model fitted on the others: the
schedules the model learned, on datasets it never saw (what `tune` on a new dataset meets).
`--coverage 0` gives the bound of the quantile alone, without the calibration by progress.

    python benchmarks/pruner_long_curves.py
    python benchmarks/pruner_long_curves.py --held-out-seed
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from recommender.search._curve_model import CurveModel, log_error, training_rows  # noqa: E402
from recommender.search._learned_pruner import LearnedPruner  # noqa: E402
from training.metrics import METRIC_DIRECTIONS  # noqa: E402

SEED = ROOT / "recommender" / "data" / "seed_kb"
PARTIAL = ROOT / "scripts" / "seed_kb_partial"


def _load(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(folder / "runs.parquet"), pd.read_parquet(folder / "curves.parquet")


def capped(runs: pd.DataFrame, curves: pd.DataFrame, cap: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs as `tune --max-epochs cap` would have run them: schedules of at most `cap`
    epochs, curves cut there (the learning rate of a longer schedule is not replayed)."""
    runs = runs.assign(max_epochs=runs["max_epochs"].clip(upper=cap))
    return runs, curves[curves["epoch"] <= cap]


def replay(model: CurveModel, runs: pd.DataFrame, curves: pd.DataFrame) -> np.ndarray:
    """[runs stopped, stopped would-be incumbents, would-be incumbents, epochs saved, epochs], the
    rule being `LearnedPruner`'s with `model` (its guards included)."""
    out = np.zeros(5)
    values = {
        k: g.sort_values("epoch")["val_metric"].to_numpy() for k, g in curves.groupby("run_id")
    }
    for _, group in runs.groupby("dataset_id"):
        order = group["id"].map(lambda s: hashlib.sha256(s.encode()).hexdigest())
        incumbent, best = None, math.inf
        for _, run in group.loc[order.sort_values().index].iterrows():
            curve = values.get(run["id"])
            if curve is None or len(curve) == 0:
                continue
            final = float(np.nanmin(log_error(curve, run["objective"])))
            out[4] += len(curve)
            if incumbent is not None:
                improves = final < best
                out[2] += improves
                pruner = LearnedPruner(model, run["objective"]).for_trial(run.to_dict())
                sign = 1.0 if METRIC_DIRECTIONS[run["objective"]] == "maximize" else -1.0
                for epoch in range(2, len(curve)):
                    if pruner.should_stop(epoch, curve[:epoch], [incumbent], sign):
                        out[0] += 1
                        out[1] += improves
                        out[3] += len(curve) - epoch
                        break
            if final < best:
                incumbent, best = curve, final
    return out


def held_out_seed(runs: pd.DataFrame, curves: pd.DataFrame, settings: dict) -> np.ndarray:
    """`replay` of the seed's finished runs, each fifth of its datasets judged by a model fitted
    (and calibrated) on the other datasets' curves."""
    from sklearn.model_selection import GroupKFold

    done = runs[runs["status"] == "ok"]
    total = np.zeros(5)
    for fit_rows, test_rows in GroupKFold(5).split(done, groups=done["dataset_id"]):
        model = CurveModel(**settings).fit(*training_rows(done.iloc[fit_rows], curves))
        total += replay(model, done.iloc[test_rows], curves)
    return total


def _print(label: str, n_runs: int, figures: np.ndarray) -> None:
    stopped, lost, improvers, saved, epochs = figures
    print(
        f"{label}: stopped {stopped:.0f} of {n_runs} runs; {lost:.0f} of the {improvers:.0f} "
        f"that would have become the incumbent; epochs saved {saved / epochs:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partial", type=Path, default=PARTIAL)
    parser.add_argument("--alpha", type=float, default=CurveModel().alpha)
    parser.add_argument("--coverage", type=float, default=CurveModel().coverage)
    parser.add_argument(
        "--held-out-seed",
        action="store_true",
        help="replay the shipped seed's curves, five folds of datasets held out in turn",
    )
    parser.add_argument(
        "--max-epochs",
        type=whole_number(1),
        help="replay as if trials were capped at this "
        "many epochs (tune --max-epochs; the real-size benchmark uses 50)",
    )
    parser.add_argument(
        "--shipped-only",
        action="store_true",
        help="only the shipped seed's "
        "curve model (the leave-one-dataset-out fits take minutes each)",
    )
    args = parser.parse_args()
    if not 0.0 < args.alpha < 1.0:
        parser.error(f"--alpha is a quantile strictly between 0 and 1, but got {args.alpha}")
    if not 0.0 <= args.coverage <= 1.0:
        parser.error(f"--coverage is between 0 (no calibration) and 1, but got {args.coverage}")
    for folder in (SEED, args.partial):
        if not (folder / "runs.parquet").is_file() or not (folder / "curves.parquet").is_file():
            parser.error(f"{folder} holds no runs.parquet and curves.parquet (a KB export)")
    seed_runs, seed_curves = _load(SEED)
    settings = {"alpha": args.alpha, "coverage": args.coverage}
    if args.held_out_seed:
        _print(
            "shipped seed, datasets held out (5 folds)",
            int((seed_runs["status"] == "ok").sum()),
            held_out_seed(seed_runs, seed_curves, settings),
        )
        return
    runs, curves = _load(args.partial)
    runs = runs[runs["status"] == "ok"]
    if args.max_epochs is not None:
        runs, curves = capped(runs, curves, args.max_epochs)
    epochs = curves[curves["run_id"].isin(runs["id"])].groupby("run_id").size().mean()
    print(
        f"{len(runs)} finished runs on {runs['dataset_id'].nunique()} datasets of the partial "
        f"build, {epochs:.0f} epochs on average (cap: {args.max_epochs}); {settings}"
    )
    model = CurveModel(**settings).fit(*training_rows(seed_runs, seed_curves))
    _print(
        "curve model of the shipped seed (20-epoch curves)", len(runs), replay(model, runs, curves)
    )
    if args.shipped_only:
        return
    total = np.zeros(5)
    for dataset in runs["dataset_id"].unique():
        own = runs["dataset_id"] == dataset
        model = CurveModel(**settings).fit(
            *training_rows(pd.concat([seed_runs, runs[~own]]), pd.concat([seed_curves, curves]))
        )
        total += replay(model, runs[own], curves)
    _print("plus the other datasets' long curves", len(runs), total)


if __name__ == "__main__":
    main()
