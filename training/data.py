"""The two data shapes the engine passes around: a loaded `Table` and model-ready `PreparedData`.

`Table` is what a user's file becomes (typed frame, target, task, fingerprint). `PreparedData` is a
table after preprocessing and splitting: float32 feature matrices and encoded targets, ready to be
moved to a device once and sliced into batches there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Table:
    """A dataset as loaded from a file or a DataFrame.

    Attributes:
        frame: the feature columns only (target removed), typed (numeric or categorical/string).
        y: the target column as a Series (classification: original labels).
        target: the target column's name.
        task: "binary", "multiclass" or "regression".
        fingerprint: content hash of the whole table (features + target), stable across runs.
        name: a human name, by default the file's stem.
        notes: what loading decided on the user's behalf (default target, dropped columns, ...).
    """

    frame: pd.DataFrame
    y: pd.Series
    target: str
    task: str
    fingerprint: str
    name: str
    notes: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def n_features(self) -> int:
        return self.frame.shape[1]

    @property
    def n_classes(self) -> int:
        """Distinct target values for classification, 0 for regression."""
        return 0 if self.task == "regression" else int(self.y.nunique())


@dataclass(frozen=True)
class PreparedData:
    """A preprocessed train/validation split, ready for `train`.

    Attributes:
        x_train, x_val: float32 matrices (rows x encoded features).
        y_train, y_val: int64 class indices (classification) or float32 values (regression).
        task: as in `Table.task`.
        n_classes: classes for classification, 1 for regression.
        feature_names: names of the encoded columns.
        classes: original class labels in index order (empty for regression).
        preprocessor: the fitted scikit-learn transformer, kept for checkpoints and inference.
        n_numeric: the leading columns that are numeric (what periodic embeddings embed);
            None: every column before the code columns.
        cardinalities: codes of each trailing integer-code column (categorical embeddings).
        recipe: the (numeric_preprocessing, categorical) these matrices were built with.
        source: what `training.prepare` built them from, so `training.for_config` can refit
            another recipe; None for data built by hand.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str
    n_classes: int
    feature_names: tuple[str, ...] = ()
    classes: tuple[Any, ...] = ()
    preprocessor: Any = field(default=None, compare=False, repr=False)
    n_numeric: int | None = None
    cardinalities: tuple[int, ...] = ()
    recipe: tuple[str, str] = ("standard", "onehot")
    source: Any = field(default=None, compare=False, repr=False)
