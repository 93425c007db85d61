"""Resuming a long benchmark from its results file: the rows it already holds are reused only
when they were made with this run's settings, so a rerun never mixes in other figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def refuse_other_settings(
    rows: Iterable[Mapping[str, Any]], settings: Mapping[str, Any], path: Path
) -> None:
    """Exit naming `path` and the settings that differ if any row was made with other ones."""
    for row in rows:
        other = {k: row.get(k) for k in settings if row.get(k) != settings[k]}
        if other:
            raise SystemExit(
                f"{path} holds results made with {other} (this run: "
                f"{ {k: settings[k] for k in other} }); pass another output, or delete the file "
                "to start over"
            )
