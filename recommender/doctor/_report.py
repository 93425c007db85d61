"""What a doctor check returns, and the report that gathers them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("pass", "warn", "fail")


@dataclass(frozen=True)
class Check:
    """One check's verdict in plain words.

    Attributes:
        name: short identifier, e.g. "gradient_check".
        status: "pass", "warn" or "fail".
        reason: one line saying what was seen.
        advice: one line saying what to do ("" when nothing is needed).
        details: the figures behind the verdict (JSON-ready).
    """

    name: str
    status: str
    reason: str
    advice: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DoctorReport:
    """Every check on one dataset and configuration; `failed` when any check failed."""

    dataset: str
    task: str
    rows: int
    features: int
    config: dict[str, Any]
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)

    def check(self, name: str) -> Check:
        """The check called `name`."""
        return next(check for check in self.checks if check.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's `--json`)."""
        out = dataclasses.asdict(self)
        out["failed"] = self.failed
        return out
