"""The DuckDB store of past experiments: datasets, meta-features, studies, runs and curves.

Knows nothing of torch, of training or of search.
"""

from __future__ import annotations

__all__: list[str] = []
