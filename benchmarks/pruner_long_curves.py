"""Does the learned pruner's curve model carry over to longer runs than it learned from?

The default pruner (`recommender.search.LearnedPruner`) stops a trial when its curve model's
optimistic bound stays behind the incumbent. The first seed KB's curves (shipped until the wide
build replaced it, now the tests' seed: tests/fixtures/seed_kb_2480/) were all capped at 20
epochs; `tune` at real size trains up to `max_epochs` (20..200 in the default space). This
replays the pruner offline (no training) on the long curves of the wide seed build's export, the
seed the package ships (`recommender/data/seed_kb/`, `max_epochs` sampled up to 200, early
stopping), dataset by dataset:
runs in a fixed pseudo-random order, the incumbent is the best final value of the runs before,
and a run is stopped at the first epoch where the pruner would stop it (`LearnedPruner`'s rule:
from epoch 2, not before the learning rate's peak). Two curve models:

- fitted on the first seed KB's curves (20-epoch curves only);
- fitted on those plus the long curves of the *other* partial-build datasets (leave one dataset
  out), what a KB with the wide build would learn from.

Printed per model: runs stopped, stopped runs that would have become the new incumbent (of how
many did), and the share of epochs saved. `--held-out-seed` replays the first seed's own
(20-epoch) curves instead, each fifth of its datasets judged by a model fitted on the others: the
schedules the model learned, on datasets it never saw (what `tune` on a new dataset meets).
`--coverage 0` gives the bound of the quantile alone, without the calibration by progress.

`--plateau` replays the other rule of `LearnedPruner`, ending a trial whose curve has flattened
out (its likely improvement still ahead below `plateau`, in log error) as finished: each fifth of
the partial build's datasets is judged by a model fitted on the others' curves, every run on its
own (no incumbent needed). Printed per tolerance: runs ended, epochs saved, and what ending cost,
the run's final best minus its best when ended (log error: 0.01 is 1% of the error).

    python benchmarks/pruner_long_curves.py
    python benchmarks/pruner_long_curves.py --held-out-seed
    python benchmarks/pruner_long_curves.py --plateau 0.005 0.01 0.02
    python benchmarks/pruner_long_curves.py --plateau 0.01 --max-epochs 50 --alpha 0.9  # quantile
    python benchmarks/pruner_long_curves.py --searches 20 --max-epochs 50 --coverage 0.99

`--searches N` replays what the acceptance of the pruner measures, on the shipped seed: per
dataset its first N finished runs (a fixed pseudo-random order) as the trials of one search, with
the pruner and without. The incumbent is the best value the search has seen (a stopped trial's
best before its stop, as in `tune`), each fifth of the datasets is judged by a curve model fitted
as `tune` fits it (at most `CURVE_RUNS` curves) on the other datasets' curves. Printed: epochs
saved, and the regret the pruner costs after 10 and N trials (the pruned search's best minus the
unpruned one's, in log error: mean, and datasets where it is worse by more than 0.01), in all
and by the datasets' size (rows).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402
from benchmarks._seed_kb import FIRST_SEED_KB  # noqa: E402
from recommender._kb import SEED_KB_DIR  # noqa: E402
from recommender.learn._fit import CURVE_RUNS  # noqa: E402
from recommender.search._curve_model import (  # noqa: E402
    FEATURES,
    CurveModel,
    log_error,
    prefix_features,
    training_rows,
)
from recommender.search._learned_pruner import LearnedPruner  # noqa: E402
from training.metrics import METRIC_DIRECTIONS  # noqa: E402

SEED = FIRST_SEED_KB  # 20-epoch curves
PARTIAL = SEED_KB_DIR  # the wide build, as far as it came
SIZE_BANDS = [0, 500, 1000, 2000, 5000, math.inf]  # rows, for the `--searches` report


def _load(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(folder / "runs.parquet"), pd.read_parquet(folder / "curves.parquet")


def capped(runs: pd.DataFrame, curves: pd.DataFrame, cap: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs as `tune --max-epochs cap` would have run them: schedules of at most `cap`
    epochs, curves cut there (the learning rate of a longer schedule is not replayed)."""
    runs = runs.assign(max_epochs=runs["max_epochs"].clip(upper=cap))
    return runs, curves[curves["epoch"] <= cap]


def curve_values(curves: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each run's validation values in epoch order, by run id."""
    return {k: g.sort_values("epoch")["val_metric"].to_numpy() for k, g in curves.groupby("run_id")}


def in_replay_order(group: pd.DataFrame) -> list[pd.Series]:
    """A dataset's runs in the replays' fixed pseudo-random order (by a hash of the run id)."""
    order = group["id"].map(lambda s: hashlib.sha256(s.encode()).hexdigest())
    return [run for _, run in group.loc[order.sort_values().index].iterrows()]


def replay(model: CurveModel, runs: pd.DataFrame, curves: pd.DataFrame) -> np.ndarray:
    """[runs stopped, stopped would-be incumbents, would-be incumbents, epochs saved, epochs], the
    rule being `LearnedPruner`'s with `model` (its guards included)."""
    out = np.zeros(5)
    values = curve_values(curves)
    for _, group in runs.groupby("dataset_id"):
        incumbent, best = None, math.inf
        for run in in_replay_order(group):
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


def search_replay(
    model: CurveModel, runs: pd.DataFrame, curves: Mapping[str, np.ndarray], n_trials: int
) -> np.ndarray:
    """Per dataset, its first `n_trials` runs (in `replay`'s order) as one search with the
    learned pruner and one without: [datasets, epochs pruned, epochs unpruned, regret at 10
    summed, regret at `n_trials` summed, datasets worse by more than 0.01 at 10, at `n_trials`]
    (regret: the pruned search's best minus the unpruned one's, log error)."""
    out = np.zeros(7)
    for _, group in runs.groupby("dataset_id"):
        trials = [run for run in in_replay_order(group) if len(curves.get(run["id"], ())) > 0]
        trials = trials[:n_trials]
        if len(trials) < n_trials:
            continue
        seen: list[np.ndarray] = []  # what the pruned search has observed of each trial
        for run in trials:
            curve = curves[run["id"]]
            pruner = LearnedPruner(model, run["objective"]).for_trial(run.to_dict())
            sign = 1.0 if METRIC_DIRECTIONS[run["objective"]] == "maximize" else -1.0
            stop = next(
                (e for e in range(2, len(curve)) if pruner.should_stop(e, curve[:e], seen, sign)),
                len(curve),
            )
            seen.append(curve[:stop])
            out[1:3] += stop, len(curve)
        objective = trials[0]["objective"]  # one per dataset
        pruned, unpruned = (
            np.fmin.accumulate([np.nanmin(log_error(c, objective)) for c in kept])
            for kept in (seen, [curves[r["id"]] for r in trials])
        )
        regret = pruned[[9, n_trials - 1]] - unpruned[[9, n_trials - 1]]
        out[0] += 1
        out[3:5] += regret
        out[5:7] += regret > 0.01
    return out


def plateau_replay(
    model: CurveModel,
    runs: pd.DataFrame,
    curves: Mapping[str, np.ndarray],
    tolerances: list[float],
) -> dict[float, np.ndarray]:
    """Per tolerance: [epochs, epochs saved, runs ended] and then each ended run's cost (its
    final best minus its best when ended, log error), `LearnedPruner.has_converged` deciding."""
    out = {t: np.zeros(3) for t in tolerances}
    costs: dict[float, list[float]] = {t: [] for t in tolerances}
    for _, run in runs.iterrows():
        curve = curves.get(run["id"])
        if curve is None or len(curve) < 3:
            continue
        errors = log_error(curve, run["objective"])
        if np.isnan(errors).all():
            continue
        # The model's quantile at every prefix in one call (the features are causal), then the
        # rule itself, guards included, at the epochs where that quantile is below a tolerance.
        rows = pd.DataFrame(prefix_features(errors, run), columns=FEATURES)
        likely = np.maximum(0.0, model.model_.predict(rows))
        best = np.fmin.accumulate(np.where(np.isnan(errors), np.inf, errors))
        for t in tolerances:
            pruner = LearnedPruner(model, run["objective"], plateau=t).for_trial(run.to_dict())
            out[t][0] += len(curve)
            for epoch in np.flatnonzero(likely[:-1] < t) + 1:
                if pruner.has_converged(int(epoch), curve[:epoch]):
                    out[t][1:] += (len(curve) - epoch, 1)
                    costs[t].append(float(best[epoch - 1] - best[-1]))
                    break
    return {t: np.r_[out[t], costs[t]] for t in tolerances}


def plateau_folds(
    runs: pd.DataFrame, curves: pd.DataFrame, tolerances: list[float], alpha: float
) -> None:
    """`plateau_replay` with each fifth of the datasets held out in turn, the curve model
    predicting the `alpha` quantile of the improvement ahead; prints the figures."""
    from sklearn.model_selection import GroupKFold

    values = curve_values(curves)
    totals: dict[float, list[np.ndarray]] = {t: [] for t in tolerances}
    for fit_rows, test_rows in GroupKFold(5).split(runs, groups=runs["dataset_id"]):
        features, remaining, _ = training_rows(runs.iloc[fit_rows], curves)
        # the rule reads the uncalibrated quantile
        model = CurveModel(alpha=alpha).fit(features, remaining)
        for t, figures in plateau_replay(model, runs.iloc[test_rows], values, tolerances).items():
            totals[t].append(figures)
    for t in tolerances:
        epochs, saved, ended = np.sum([f[:3] for f in totals[t]], axis=0)
        cost = np.concatenate([f[3:] for f in totals[t]]) if ended else np.zeros(1)
        print(
            f"plateau {t}: ended {ended:.0f} of {len(runs)} runs, epochs saved {saved / epochs:.1%}"
            f"; cost (log error) mean {cost.mean():.4f}, 95th percentile "
            f"{np.quantile(cost, 0.95):.4f}, above the tolerance for {(cost > t).sum()}"
        )


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


def held_out_searches(
    runs: pd.DataFrame, curves: pd.DataFrame, settings: dict, n_trials: int, rows: pd.Series
) -> None:
    """`search_replay` with each fifth of the datasets held out in turn; prints the figures, in
    all and by the datasets' rows (`rows`: n_rows by dataset id)."""
    from sklearn.model_selection import GroupKFold

    values = curve_values(curves)
    per_dataset = {}
    for fit_rows, test_rows in GroupKFold(5).split(runs, groups=runs["dataset_id"]):
        fit = runs.iloc[fit_rows]
        if len(fit) > CURVE_RUNS:  # as `tune` fits it (`recommender.learn.fitted_curve_model`)
            fit = fit.sample(CURVE_RUNS, random_state=np.random.RandomState(0)).sort_values("id")
        model = CurveModel(**settings).fit(*training_rows(fit, curves))
        for dataset, held_out in runs.iloc[test_rows].groupby("dataset_id"):
            per_dataset[dataset] = search_replay(model, held_out, values, n_trials)
    figures = pd.DataFrame(per_dataset).T
    bands = pd.cut(rows.reindex(figures.index), SIZE_BANDS, right=False)
    print(_searches_line(f"{n_trials} trials", figures.sum().to_numpy()))
    for band, group in figures.groupby(bands, observed=True):
        print("  " + _searches_line(_band_label(band), group.sum()))


def _band_label(band: pd.Interval) -> str:
    """A size band of `SIZE_BANDS` in words."""
    if math.isinf(band.right):
        return f"{band.left:,.0f} rows and more"
    return f"{band.left:,.0f} to {band.right - 1:,.0f} rows"


def _searches_line(label: str, total: np.ndarray) -> str:
    datasets, pruned, unpruned, at_10, at_n, worse_10, worse_n = total
    return (
        f"{label}, {datasets:.0f} searches: epochs saved {1 - pruned / unpruned:.1%}; regret of "
        f"the pruner (log error) after 10 trials {at_10 / datasets:.4f}, worse by > 0.01 on "
        f"{worse_10:.0f}; at the end {at_n / datasets:.4f}, on {worse_n:.0f}"
    )


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
        help="replay the first seed's curves, five folds of datasets held out in turn",
    )
    parser.add_argument(
        "--max-epochs",
        type=whole_number(1),
        help="replay as if trials were capped at this "
        "many epochs (tune --max-epochs; the real-size benchmark uses 50)",
    )
    parser.add_argument(
        "--plateau",
        type=float,
        nargs="+",
        metavar="TOL",
        help="replay the plateau rule at these tolerances (log error) instead",
    )
    parser.add_argument(
        "--first-seed-only",
        action="store_true",
        help="only the first seed's "
        "curve model (the leave-one-dataset-out fits take minutes each)",
    )
    parser.add_argument(
        "--searches",
        type=whole_number(10),
        metavar="N",
        help="replay searches of N trials per dataset of the shipped seed, pruned and not",
    )
    args = parser.parse_args()
    if not 0.0 < args.alpha < 1.0:
        parser.error(f"--alpha is a quantile strictly between 0 and 1, but got {args.alpha}")
    if args.plateau and (min(args.plateau) <= 0 or args.held_out_seed):
        parser.error(
            f"--plateau takes tolerances above 0 (log error, e.g. 0.01), got {args.plateau}, and "
            "replays the partial build's curves, so it does not go with --held-out-seed"
        )
    if not 0.0 <= args.coverage <= 1.0:
        parser.error(f"--coverage is between 0 (no calibration) and 1, but got {args.coverage}")
    for folder in (SEED, args.partial):
        if not (folder / "runs.parquet").is_file() or not (folder / "curves.parquet").is_file():
            parser.error(f"{folder} holds no runs.parquet and curves.parquet (a KB export)")
    if args.searches and not (args.partial / "datasets.parquet").is_file():
        parser.error(
            f"--searches reports by the datasets' rows: {args.partial} holds no "
            "datasets.parquet (a KB export has one)"
        )
    seed_runs, seed_curves = _load(SEED)
    settings = {"alpha": args.alpha, "coverage": args.coverage}
    if args.held_out_seed:
        _print(
            "first seed, datasets held out (5 folds)",
            int((seed_runs["status"] == "ok").sum()),
            held_out_seed(seed_runs, seed_curves, settings),
        )
        return
    runs, curves = _load(args.partial)
    runs = runs[runs["status"] == "ok"]
    if args.max_epochs is not None:
        runs, curves = capped(runs, curves, args.max_epochs)
    if args.searches:
        rows = pd.read_parquet(args.partial / "datasets.parquet").set_index("id")["n_rows"]
        held_out_searches(runs, curves, settings, args.searches, rows)
        return
    if args.plateau:
        plateau_folds(runs, curves, args.plateau, args.alpha)
        return
    epochs = curves[curves["run_id"].isin(runs["id"])].groupby("run_id").size().mean()
    print(
        f"{len(runs)} finished runs on {runs['dataset_id'].nunique()} datasets of the partial "
        f"build, {epochs:.0f} epochs on average (cap: {args.max_epochs}); {settings}"
    )
    model = CurveModel(**settings).fit(*training_rows(seed_runs, seed_curves))
    _print(
        "curve model of the first seed (20-epoch curves)", len(runs), replay(model, runs, curves)
    )
    if args.first_seed_only:
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
