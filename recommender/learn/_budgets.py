"""Training length as something the surrogate learns: the value of a run at several epoch budgets.

A run that trained for `max_epochs` with early stopping also says what the same configuration
would have reached with a smaller `max_epochs`: its best value so far at that epoch (exactly so
for a constant learning rate; a schedule that decays over `max_epochs` would have been at a lower
rate by then, which the run's own `max_epochs`, still an input, lets the surrogate tell apart).
So each run becomes one training row per budget, the budget an input next to the configuration:

- budgets (`budgets_of`): the epochs of `BUDGET_GRID` inside the space's `max_epochs` range, plus
  that range's ends. The surrogate is only asked about budgets a candidate may train for, so rows
  at other budgets would only cost fit time; on the default space (20..200) that is 20, 50, 100
  and 200: 2.9 rows per run on average where `max_epochs` is sampled log-uniformly over that
  range, and curves are read for at most `EXPANDED_RUNS` runs per fit;
- a run that ended by itself (status ok: it ran to `max_epochs` or stopped early) speaks for every
  budget up to its `max_epochs`: its best value up to that budget, which after an early stop is
  its final value; a run a pruner stopped (pruned, or ended as converged: `stop_reason`) only up
  to the epoch where it was stopped (`reach`). Beyond that it says nothing. Its final value is
  one row at its reach. Its `patience` stays as it was: below the epoch it stopped at, a shorter
  `max_epochs` with the same patience runs the same epochs;
- failed and diverged runs keep their one row (the worst score of their dataset);
- the best value so far comes from the run's stored curve (`curves.val_metric`, the run's own
  objective each epoch), so a run without a curve, or scored on a metric other than the one it
  logged each epoch, keeps its final row only.

A dataset's rows are normalised together, at all budgets (`normalised_scores`), so a longer budget
that reached a better value scores higher.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame({"id": ["r"], "task": ["binary"], "status": ["ok"],
    ...     "objective": ["log_loss"], "direction": ["minimize"], "value": [0.05],
    ...     "max_epochs": [30], "epochs_run": [30], "log_loss": [0.05]})
    >>> curves = pd.DataFrame({"run_id": ["r"] * 30, "epoch": range(1, 31),
    ...     "val_metric": [1.5 / e for e in range(1, 31)]})
    >>> rows = budget_rows(runs, curves, (10, 20, 50), lambda task: "log_loss")
    >>> rows[["budget", "log_loss"]].round(3).values.tolist()
    [[30.0, 0.05], [10.0, 0.15], [20.0, 0.075]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from recommender.search._curve_model import stopped_by_pruner
from recommender.space import Int, SearchSpace, epochs_between
from training.metrics import METRIC_DIRECTIONS

BUDGET = "max_epochs"  # the hyperparameter that is a training budget
BUDGET_GRID = (5, 10, 20, 50, 100, 200, 500, 1000)
# Evidence for a training length: runs that long on at least this many of the nearest datasets.
MIN_BUDGET_DATASETS = 3
# Curves read per fit at most (a seeded sample of the expandable runs beyond it; the others keep
# their final row): about 3 rows each on the default space, far more than the 8,000 rows each
# surrogate member fits on, so more would cost reading time and change nothing.
EXPANDED_RUNS = 20_000
FINISHED = ("ok", "pruned")

CurveReader = Callable[[Iterable[str]], pd.DataFrame]


def budgets_of(space: SearchSpace) -> tuple[int, ...]:
    """The budgets a run is expanded to for `space`: `BUDGET_GRID` within its `max_epochs` range,
    and the range's ends (none when the space has no integer `max_epochs`)."""
    dist = space.parameters.get(BUDGET)
    if not isinstance(dist, Int):
        return ()
    inside = {b for b in BUDGET_GRID if dist.low < b < dist.high}
    return tuple(sorted(inside | {int(dist.low), int(dist.high)}))


def reach(runs: pd.DataFrame) -> pd.Series:
    """The longest budget each run speaks for: its `max_epochs`, or the epochs a run ran before a
    pruner stopped it (pruned, or ended as converged: where it would have gone after that is the
    pruner's guess, not evidence)."""
    if "status" not in runs or "epochs_run" not in runs:
        return runs[BUDGET].astype(float)
    cut = stopped_by_pruner(runs) & runs["epochs_run"].notna()
    return runs[BUDGET].where(~cut, runs["epochs_run"]).astype(float)


def expandable(
    runs: pd.DataFrame, budgets: Sequence[int], scored_on: Callable[[str], str]
) -> pd.Series:
    """Runs whose curve can give rows below their reach: finished or pruned, longer than the
    shortest budget, and logged on the metric their task is scored on (the curve's metric); at
    most `EXPANDED_RUNS` of them."""
    if not budgets or not {"status", "task", "objective"} <= set(runs):
        return pd.Series(False, index=runs.index)
    scored = runs["task"].astype(str).map(scored_on)
    able = runs["status"].isin(FINISHED) & (runs["objective"] == scored)
    able &= reach(runs) > min(budgets)
    if able.sum() > EXPANDED_RUNS:
        chosen = runs.loc[able, "id"].sort_values().sample(EXPANDED_RUNS, random_state=0)
        able &= runs["id"].isin(chosen)
    return able


def budget_rows(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    budgets: Sequence[int],
    scored_on: Callable[[str], str],
) -> pd.DataFrame:
    """`runs` with a `budget` column (each run's `reach`: its final value), followed by one row
    per run and budget below its reach with its best value so far (in its objective's column and
    in `value`; its other metrics unknown there).

    Args:
        runs: one row per run: `id`, `task`, `status`, `objective`, `direction`, `value`,
            `max_epochs`, `epochs_run` and the metric columns.
        curves: `run_id`, `epoch` and `val_metric` of (some of) the runs.
        budgets: the epochs to expand to (`budgets_of`).
        scored_on: the metric a task's runs are scored on (see `expandable`).
    """
    final = runs.assign(budget=reach(runs)).reset_index(drop=True)
    able = expandable(final, budgets, scored_on).to_numpy()
    if curves.empty or not able.any():
        return final
    # Each curve point's run as a row number of `final` (-1: not expanded); integer codes keep
    # the grouping fast on a KB's 10^6 points.
    run = pd.Index(final["id"]).get_indexer(curves["run_id"])
    known = run >= 0
    known[known] = able[run[known]]
    run, epoch = run[known], curves["epoch"].to_numpy()[known]
    sign = np.where(final["direction"].to_numpy() == "minimize", -1.0, 1.0)
    signed = pd.Series(curves["val_metric"].to_numpy(dtype=float)[known] * sign[run])
    metrics = [c for c in METRIC_DIRECTIONS if c in final]
    parts = [final]
    for budget in budgets:
        upto = epoch <= budget
        best = signed[upto].groupby(run[upto]).max()
        best = best[np.isfinite(best)]
        rows = best.index[final["budget"].to_numpy()[best.index] > budget]
        if rows.empty:
            continue
        value = best[rows].to_numpy() * sign[rows]
        part = final.iloc[rows].assign(budget=float(budget), value=value)
        part[metrics] = np.nan
        for metric, index in part.groupby("objective").groups.items():
            part.loc[index, metric] = part.loc[index, "value"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def trained_range(runs: pd.DataFrame, dataset_ids: Iterable[str]) -> tuple[int, int] | None:
    """The training lengths the KB holds evidence for on `dataset_ids`: from the shortest to the
    longest `reach` of finished or pruned runs on at least `MIN_BUDGET_DATASETS` of them (of all
    of them where there are fewer); None when none of their runs has a `max_epochs`."""
    if runs.empty or BUDGET not in runs:
        return None
    mine = runs[runs["dataset_id"].isin(list(dataset_ids))]
    if "status" in mine:
        mine = mine[mine["status"].isin(FINISHED)]
    reaches = reach(mine).dropna()
    if reaches.empty:
        return None
    per_dataset = reaches.groupby(mine.loc[reaches.index, "dataset_id"]).agg(["min", "max"])
    k = min(MIN_BUDGET_DATASETS, len(per_dataset))
    low = int(per_dataset["min"].nsmallest(k).iloc[-1])
    return low, max(low, int(per_dataset["max"].nlargest(k).iloc[-1]))


def within(space: SearchSpace, limits: tuple[int, int] | None) -> SearchSpace:
    """`space` with `max_epochs` kept inside `limits` as far as its own range allows (itself
    without limits, without an integer `max_epochs`, or already inside them)."""
    dist = space.parameters.get(BUDGET)
    if limits is None or not isinstance(dist, Int):
        return space
    low = max(dist.low, min(limits[0], dist.high))
    high = min(dist.high, max(limits[1], low))
    return space if (low, high) == (dist.low, dist.high) else epochs_between(space, low, high)
