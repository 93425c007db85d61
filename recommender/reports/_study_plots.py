"""The figures of a study report, each a function of `StudyData` -> Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from recommender.reports._data import StudyData
from recommender.reports._figure import (
    STATUS_STYLE,
    integer_axis,
    log_axis,
    message_figure,
    new_figure,
)
from recommender.reports._importance import MIN_RUNS, Importance
from recommender.space import Categorical, Float, Int

BAD = ("diverged", "failed")


def best_so_far(data: StudyData) -> Figure:
    """Each trial's objective value and the best finished value up to it."""
    runs = data.runs
    usable = data.with_value
    if usable.empty:
        return message_figure("Best so far", "no trial of this study finished with a value")
    fig = new_figure()
    ax = fig.add_subplot()
    minimize = data.direction == "minimize"
    values = usable["value"]
    log = use_log_scale(values)
    low, high = float(values.min()), float(values.max())
    if log:
        ax.set_yscale("log")
    else:  # keep the axis on the interesting range: a few terrible trials flatten the curve
        if minimize:
            high = min(high, max(float(values.quantile(0.9)), float(values.iloc[0])))
        else:
            low = max(low, min(float(values.quantile(0.1)), float(values.iloc[0])))
        pad = 0.05 * (high - low) if high > low else 0.05 * max(abs(high), 1.0)
        low, high = low - pad, high + pad
        ax.set_ylim(low, high)
    for status in ("ok", "pruned"):
        part = usable[usable["status"] == status]
        if part.empty:
            continue
        style = STATUS_STYLE[status]
        inside = part["value"].between(low, high)
        ax.scatter(part["trial"][inside], part["value"][inside], s=30, zorder=3,
                   label=f"{status} trial", color=style["color"],
                   facecolors=style.get("facecolors", style["color"]))
        if (~inside).any():
            edge = high - 0.02 * (high - low) if minimize else low + 0.02 * (high - low)
            ax.scatter(part["trial"][~inside], np.full((~inside).sum(), edge),
                       marker="^" if minimize else "v", color=style["color"], s=30, zorder=3,
                       label=f"{status} trial off the scale")
    finished = usable[usable["status"] == "ok"]
    if not finished.empty:
        best = finished["value"].cummin() if minimize else finished["value"].cummax()
        trials = [*finished["trial"], len(runs)]  # the line runs on to the last trial
        ax.step(trials, [*best, best.iloc[-1]], where="post", color="tab:orange", linewidth=2,
                zorder=2, label="best so far (ok trials)")
    bad = runs[runs["status"].isin(BAD)]
    if not bad.empty:  # no value to plot: mark them along the bottom edge
        along_bottom = blended_transform_factory(ax.transData, ax.transAxes)
        ax.scatter(bad["trial"], np.full(len(bad), 0.02), transform=along_bottom,
                   marker="x", color="tab:red", s=40, zorder=3, clip_on=False,
                   label="failed or diverged (no value)")
    ax.set_xlim(0.5, len(runs) + 0.5)
    integer_axis(ax, "x")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{data.objective} ({'lower' if minimize else 'higher'} is better)")
    final = "none finished" if finished.empty else f"{best.iloc[-1]:.4g}"
    ax.set_title(f"Best so far on {data.dataset_name}: {data.objective} {final} "
                 f"after {len(runs)} trials")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return fig


def use_log_scale(values: pd.Series) -> bool:
    """A log axis reads better when positive values span more than two decades (log loss of
    0.3 next to 1e-6 on an easy dataset)."""
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and bool((finite > 0).all()) and finite.max() > 100 * finite.min()


def learning_curves(data: StudyData, top: int = 5) -> Figure:
    """Validation objective per epoch of the `top` best trials, best epoch marked."""
    chosen = data.best_first().head(top)
    if chosen.empty or data.curves.empty:
        return message_figure("Learning curves", "no learning curves stored for this study")
    fig = new_figure()
    ax = fig.add_subplot()
    for rank, row in enumerate(chosen.itertuples(), start=1):
        curve = data.curves[data.curves["run_id"] == row.id]
        if curve.empty:
            continue
        label = (f"#{rank} trial {row.trial}: {row.value:.4g} "
                 f"({row.optimizer}, lr {row.learning_rate:.2g}, batch {row.batch_size})")
        line, = ax.plot(curve["epoch"], curve["val_metric"], marker=".", label=label,
                        linewidth=2.2 if rank == 1 else 1.2)
        best = curve[curve["epoch"] == row.best_epoch]
        ax.plot(best["epoch"], best["val_metric"], "o", color=line.get_color(), markersize=8,
                markerfacecolor="white", markeredgewidth=2)
    integer_axis(ax, "x")
    if use_log_scale(data.curves[data.curves["run_id"].isin(chosen["id"])]["val_metric"]):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"validation {data.objective}")
    ax.set_title(f"Learning curves of the {len(chosen)} best trials (circle: best epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def importance_figure(result: Importance | None) -> Figure:
    """Horizontal bars of permutation importance with their spread."""
    if result is None:
        return message_figure(
            "Hyperparameter importance",
            f"too few runs, or no varying hyperparameter (needs at least {MIN_RUNS} runs)",
        )
    fig = new_figure()
    ax = fig.add_subplot()
    shown = min(len(result.names), 12)
    positions = np.arange(shown)[::-1]
    ax.barh(positions, result.mean[:shown], xerr=result.std[:shown], color="tab:blue",
            alpha=0.8, capsize=3)
    ax.set_yticks(positions, result.names[:shown])
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlabel("drop in R² when the hyperparameter is shuffled (higher: matters more)")
    rough = " — rough with so few runs" if result.n_runs < 20 else ""
    ax.set_title(f"Hyperparameter importance ({result.n_runs} runs{rough})")
    ax.grid(axis="x", alpha=0.3)
    return fig


def pair_map(data: StudyData, x: str, y: str) -> Figure:
    """Trials on two hyperparameters, coloured by objective value; the best one starred."""
    runs = data.runs
    fig = new_figure()
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    xs = _axis(ax, "x", x, runs, data, rng)
    ys = _axis(ax, "y", y, runs, data, rng)
    usable = runs.index.isin(data.with_value.index)
    bad = runs["status"].isin(BAD).to_numpy()
    cmap = "viridis_r" if data.direction == "minimize" else "viridis"
    values = runs["value"][usable]
    norm = LogNorm() if use_log_scale(values) else None
    points = ax.scatter(xs[usable], ys[usable], c=values, cmap=cmap, norm=norm, s=60,
                        edgecolors="0.2", linewidths=0.5, zorder=3)
    if bad.any():
        ax.scatter(xs[bad], ys[bad], marker="x", color="tab:red", s=50, zorder=3,
                   label="failed or diverged")
    if not data.best_first().empty:
        best = data.best_first().index[0]
        ax.scatter([xs[best]], [ys[best]], marker="*", s=400, color="none", edgecolors="red",
                   linewidths=1.5, zorder=4, label=f"best (trial {runs.loc[best, 'trial']})")
        fig.colorbar(points, ax=ax, label=f"{data.objective} (brighter is better)")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} against {x} on {data.dataset_name}")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9, loc="best")
    return fig


def _axis(ax: Axes, which: str, name: str, runs: pd.DataFrame, data: StudyData,
          rng: np.random.Generator) -> np.ndarray:
    """Positions of the runs along one axis: numbers as they are (log where the space is), or
    categories as jittered integer positions with their names as tick labels."""
    dist = data.space.parameters.get(name)
    values = runs[name] if name in runs else pd.Series(np.nan, index=runs.index)
    if isinstance(dist, Categorical) or values.dtype == object or values.dtype == bool:
        choices = list(dist.choices) if isinstance(dist, Categorical) else sorted(
            values.dropna().unique().tolist(), key=str)
        codes = np.array([choices.index(v) if v in choices else np.nan for v in values], float)
        codes += rng.uniform(-0.15, 0.15, len(codes))
        setter = ax.set_xticks if which == "x" else ax.set_yticks
        setter(range(len(choices)), [str(c) for c in choices])
        return codes
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    power_of_two = isinstance(dist, Int) and dist.power_of_two
    log = isinstance(dist, (Float, Int)) and (dist.log or power_of_two)
    if log and np.nanmin(numbers, initial=np.inf) > 0:
        log_axis(ax, which, 2 if power_of_two else 10)
    elif isinstance(dist, Int):
        integer_axis(ax, which)
    return numbers
