"""What users call: the CLI, the Python API, meta-features, search space, surrogate, suggest, tune."""

from __future__ import annotations

__all__: list[str] = []
