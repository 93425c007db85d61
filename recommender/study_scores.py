"""Normalised scores of one study's runs, from raw objective values and the study's direction.

The same copula scale as `recommender.scores.normalised_scores` gives the knowledge base (higher
is better; failed and diverged runs, and runs without a value, rank worst), for callers that hold
values and a direction rather than KB metric columns: a report, an Optuna study.

Example:
    >>> study_scores([0.3, 0.1, float("nan")], "minimize").round(2).tolist()
    [0.0, 0.97, -0.97]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recommender.scores import normalised_scores
from training.metrics import METRIC_DIRECTIONS

# The column `normalised_scores` reads: any metric whose direction is "maximize" will do, because
# it is filled with direction-signed values (higher is better).
_SIGNED_COLUMN = next(m for m, d in METRIC_DIRECTIONS.items() if d == "maximize")


def study_scores(
    values: Sequence[float], direction: str, statuses: Sequence[str] | None = None
) -> np.ndarray:
    """Copula-normalised score per value of one study (`direction`: minimize or maximize)."""
    if len(values) == 0:
        return np.empty(0)
    sign = 1.0 if direction == "maximize" else -1.0
    frame = pd.DataFrame(
        {"dataset_id": "study", _SIGNED_COLUMN: sign * np.asarray(values, dtype=float)}
    )
    if statuses is not None:
        frame["status"] = list(statuses)
    scores = normalised_scores(frame, objective_for_task=lambda task: _SIGNED_COLUMN)
    return scores.to_numpy()
