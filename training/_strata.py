"""The one rule for "too small to train on", and the class strata splits keep.

Apart from `training.preprocess` (and its scikit-learn): `suggest` applies the rule without
training anything, and scikit-learn is about a second of its start-up.
"""

from __future__ import annotations

import numpy as np

from hpo_common.errors import DataError
from training.data import Table


def check_splittable(table: Table, folds: int | None = None) -> None:
    """The one rule for "too small to train on": `DataError` unless `table` can be split.

    A holdout split (`folds=None`) needs 2 rows that can go to validation, k-fold CV needs k;
    rows of single-row classes stay in training, so they do not count. `train`, `tune`,
    `lr-find` and `suggest` all apply this rule before doing anything else.
    """
    needed = folds or 2
    usable = len(split_strata(table)[1])
    if usable >= needed:
        return
    purpose = "a train/validation split" if folds is None else f"{folds}-fold cross-validation"
    rows = f"table '{table.name}' has {table.n_rows} rows"
    if table.task == "regression":
        raise DataError(f"{rows}, but {purpose} needs at least {needed}")
    single = table.n_rows - usable
    raise DataError(
        f"{rows} ({single} of them the only row of their class), but {purpose} needs at least "
        f"{needed} rows of classes with 2 or more rows"
    )


def split_strata(table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Row positions of single-row classes, the other positions, and their class labels
    (None for regression): the sorted classes' codes, as scikit-learn's `LabelEncoder` gives."""
    positions = np.arange(table.n_rows)
    if table.task == "regression":
        return positions[:0], positions, None
    labels = np.unique(table.y.to_numpy(), return_inverse=True)[1].ravel()
    counts = np.bincount(labels)
    single = counts[labels] < 2
    return positions[single], positions[~single], labels[~single]
