"""Meta-features of a dataset, computed once per content fingerprint.

Landmarkers and mutual information cost a few hundred milliseconds, the largest part of a warm
`suggest`; the same file always has the same fingerprint, so its meta-features are kept as JSON
in the KB's cache folder and read back on the next call.
"""

from __future__ import annotations

import json
from pathlib import Path

from recommender._atomic import write_atomically
from recommender.learn._metafeatures import META_FEATURE_NAMES, compute_meta_features
from training import Table


def meta_features_of(table: Table, cache_dir: Path | None) -> dict[str, float]:
    """The meta-features of `table`, from `cache_dir` when computed before."""
    path = cache_dir / f"meta-{table.fingerprint}.json" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            cached = json.loads(path.read_text())
        except (OSError, ValueError):
            cached = None  # a torn cache file is recomputed, never an error
        if isinstance(cached, dict) and set(cached) == set(META_FEATURE_NAMES):
            return {name: float(cached[name]) for name in META_FEATURE_NAMES}
    features = compute_meta_features(table)
    if path is not None:
        write_atomically(path, json.dumps(features).encode())
    return features
