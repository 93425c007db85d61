"""The figures of a knowledge-base report: where its datasets lie, what configurations won."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from recommender.reports._figure import integer_axis, log_axis, message_figure, new_figure

TASK_COLORS = {"binary": "tab:blue", "multiclass": "tab:green", "regression": "tab:orange"}
# Numeric hyperparameters of the best-configuration panels, and whether to log their axis.
NUMERIC_PANELS = (
    ("learning_rate", True), ("batch_size", True), ("width", True), ("n_layers", False),
    ("dropout", False),
)
MAX_LABELS = 80


def meta_feature_map(meta: pd.DataFrame, datasets: pd.DataFrame) -> Figure:
    """Datasets on the first two principal components of their meta-features, by task.

    Meta-features span orders of magnitude (rows, kurtosis), so each is passed through a signed
    log1p and standardised first; otherwise one or two of them would be the whole map.
    """
    info = datasets.set_index("id").reindex(meta.index)
    if len(meta) < 3:
        return message_figure("Meta-feature map", f"{len(meta)} dataset(s) with meta-features: "
                              "a map needs at least 3")
    signed = np.sign(meta) * np.log1p(meta.abs())
    spread = signed.std(ddof=0)
    kept = signed.loc[:, spread > 0]
    z = ((kept - kept.mean()) / kept.std(ddof=0)).fillna(0.0).to_numpy()
    pca = PCA(n_components=2, random_state=0)
    xy = pca.fit_transform(z)
    fig = new_figure((9.0, 6.5))
    ax = fig.add_subplot()
    for task, color in TASK_COLORS.items():
        mine = (info["task"] == task).to_numpy()
        if mine.any():
            ax.scatter(xy[mine, 0], xy[mine, 1], color=color, s=45, alpha=0.85,
                       edgecolors="white", linewidths=0.5, label=f"{task} ({mine.sum()})")
    if len(meta) <= MAX_LABELS:
        for (px, py), name in zip(xy, info["name"].fillna(""), strict=True):
            ax.annotate(str(name)[:24], (px, py), xytext=(4, 3), textcoords="offset points",
                        fontsize=7, color="0.3")
    ax.margins(x=0.12, y=0.06)  # room for the labels of the outermost datasets
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC 1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({ratio[1]:.0%} of variance)")
    ax.set_title(f"{len(meta)} datasets by meta-features (PCA of {kept.shape[1]} standardised "
                 "signed-log meta-features)")
    ax.grid(alpha=0.3)
    ax.legend(title="task", fontsize=9)
    return fig


def best_config_distributions(best: pd.DataFrame) -> Figure:
    """Per task: the spread of each numeric hyperparameter of the datasets' best runs, and how
    often each optimizer won."""
    if best.empty:
        return message_figure("Best configurations", "no finished runs in the knowledge base")
    tasks = [t for t in TASK_COLORS if (best["task"] == t).any()]
    fig = new_figure((12.0, 7.0))
    axes = fig.subplots(2, 3)
    rng = np.random.default_rng(0)
    for ax, (name, log) in zip(axes.flat, NUMERIC_PANELS, strict=False):
        _numeric_panel(ax, best, tasks, name, log, rng)
    _optimizer_panel(axes.flat[-1], best, tasks)
    fig.suptitle(f"Best configuration of each dataset, by task ({len(best)} datasets)")
    return fig


def _numeric_panel(ax: Axes, best: pd.DataFrame, tasks: list[str], name: str, log: bool,
                   rng: np.random.Generator) -> None:
    groups = [pd.to_numeric(best.loc[best["task"] == t, name], errors="coerce").dropna()
              for t in tasks]
    ax.boxplot([g.to_numpy() for g in groups], tick_labels=tasks, widths=0.5, showfliers=False,
               medianprops={"color": "black"})
    for i, (task, values) in enumerate(zip(tasks, groups, strict=True), start=1):
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(values)), values, s=18, alpha=0.7,
                   color=TASK_COLORS[task], zorder=3)
    if log:
        log_axis(ax, "y", 2 if name in ("batch_size", "width") else 10)
    elif name == "n_layers":
        integer_axis(ax, "y")
    ax.set_title(name)
    ax.grid(axis="y", alpha=0.3)


def _optimizer_panel(ax: Axes, best: pd.DataFrame, tasks: list[str]) -> None:
    counts = pd.crosstab(best["optimizer"], best["task"]).reindex(columns=tasks, fill_value=0)
    width = 0.8 / max(len(tasks), 1)
    positions = np.arange(len(counts))
    for i, task in enumerate(tasks):
        ax.bar(positions + (i - (len(tasks) - 1) / 2) * width, counts[task], width,
               color=TASK_COLORS[task], label=task)
    ax.set_xticks(positions, counts.index, rotation=20)
    integer_axis(ax, "y")
    ax.set_title("optimizer (datasets it won)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
