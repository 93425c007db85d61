"""Figure helpers shared by every report: one size, one resolution, no global pyplot state.

Figures are built with `matplotlib.figure.Figure` directly (never `pyplot`), so reports work
headless (Agg), in threads, and leave no open figures behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

DPI = 100
SIZE = (8.0, 5.0)  # inches: 800 x 500 pixels at DPI
STATUS_STYLE: dict[str, dict[str, Any]] = {
    "ok": {"color": "tab:blue", "marker": "o", "label": "ok"},
    "pruned": {"color": "tab:gray", "marker": "o", "label": "pruned", "facecolors": "none"},
    "diverged": {"color": "tab:red", "marker": "x", "label": "diverged"},
    "failed": {"color": "darkred", "marker": "X", "label": "failed"},
}


def new_figure(size: tuple[float, float] = SIZE) -> Figure:
    """A blank figure with constrained layout (labels never clipped)."""
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def save(fig: Figure, path: Path) -> Path:
    """Write `fig` as PNG at `DPI` (so its pixel size is `size * DPI`); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def message_figure(title: str, text: str) -> Figure:
    """A figure that says why there is nothing to plot (the report keeps its layout)."""
    fig = new_figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=12, color="0.3")
    return fig


def log_axis(ax: Axes, which: str, base: int) -> None:
    """Log-scale the "x" or "y" axis of `ax`; base 2 is labelled in plain numbers (128, not 2^7)."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", base=base)
    if base == 2:
        axis = ax.xaxis if which == "x" else ax.yaxis
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def integer_axis(ax: Axes, which: str) -> None:
    """Ticks on whole numbers only on the "x" or "y" axis (epochs, trials, layers, counts)."""
    (ax.xaxis if which == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
