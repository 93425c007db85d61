"""Progress on stderr for `train`, `lr-find` and `tune`: a live bar in a terminal, plain
throttled lines anywhere else (a pipe, CI, a notebook, nohup), so a long run is never silent.

The bar keeps what matters at any width (label, n/N, elapsed, time left, the short status) and
lets only the detail (a configuration) be cut short with an ellipsis.
"""

from __future__ import annotations

import math
import time
from typing import Any, Self

from recommender.cli._common import console, err


class StepProgress:
    """Steps n of N with a short status and a long detail, shown as a bar or as plain lines.

    Args:
        label: what runs ("train", "lr-find", "tune").
        total: how many steps, or None if unknown (a tune with only a timeout).
        unit: the name of a step in plain lines ("epoch", "step", "trial").
        every: in plain lines, at least this many seconds between two lines (the last step and
            `update(..., force=True)` always print).
    """

    def __init__(self, label: str, total: int | None, unit: str, *, every: float = 2.0) -> None:
        self._label, self._total, self._unit, self._every = label, total, unit, every
        self._started = self._last_line = time.perf_counter()
        self._first: tuple[int, float] | None = None  # the first update: (step, time)
        self._printed = False
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        if err.is_terminal:
            self._bar = _live_bar(self._label)
            self._task = self._bar.add_task(self._label, total=self._total, status="", detail="")
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, done: int, status: str = "", detail: str = "", *, force: bool = False) -> None:
        """Step `done` (of `total`) is complete; `status` is kept whole, `detail` may be cut."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, status=status, detail=detail)
            return
        now = time.perf_counter()
        if self._first is None:
            self._first = (done, now)
        last = self._total is not None and done >= self._total
        if not (force or last or not self._printed or now - self._last_line >= self._every):
            return
        self._printed, self._last_line = True, now
        err.print(self._line(done, status, detail, now), highlight=False)

    def _line(self, done: int, status: str, detail: str, now: float) -> str:
        total = "?" if self._total is None else str(self._total)
        timing = _seconds(now - self._started)
        first_done, first_time = self._first or (done, now)
        if self._total is not None and first_done < done < self._total:
            # The pace since the first step: start-up (imports, data) is not a step.
            left = (now - first_time) / (done - first_done) * (self._total - done)
            timing += f", ~{_seconds(left)} left"
        parts = [f"{self._label}: {self._unit} {done}/{total} ({timing})", status, detail]
        return " ".join(part for part in parts if part)


def _seconds(value: float) -> str:
    if not math.isfinite(value):
        return "?"
    minutes, seconds = divmod(int(round(value)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _live_bar(label: str) -> Any:
    """A transient rich bar whose only elastic column is the detail (ellipsis when cut)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Column

    def fixed(template: str) -> TextColumn:
        return TextColumn(template, markup=False, table_column=Column(no_wrap=True))

    return Progress(
        fixed(label),
        BarColumn(bar_width=12),
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        TimeElapsedColumn(table_column=Column(no_wrap=True)),
        TimeRemainingColumn(table_column=Column(no_wrap=True)),
        fixed("{task.fields[status]}"),
        TextColumn(
            "{task.fields[detail]}",
            markup=False,
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1, min_width=1),
        ),
        console=console(stderr=True),
        transient=True,
        expand=True,
    )
