"""What a report call returns: where it wrote its files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportFiles:
    """The HTML page and the PNG figures (in page order) a report wrote."""

    html: Path
    figures: tuple[Path, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written, the page first."""
        return (self.html, *self.figures)
