"""From a `Table` to model-ready `PreparedData`: split deterministically, fit the preprocessing on
the training rows only, and encode the target.

Preprocessing (scikit-learn `ColumnTransformer`):
- numeric columns: median imputation, a missing-indicator column for each feature that has
  missing values in the training rows, then standardisation;
- every other column (text, categorical, boolean): values as strings with missing values as their
  own category "<missing>", then one-hot encoding that keeps the `max_categories - 1` most frequent
  categories and folds the rest, and unseen ones, into an "infrequent" column.

Splits are stratified for classification. A class with a single row cannot be stratified: its
rows always go to the training split (of every fold), and the other rows are stratified as usual.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, OneHotEncoder, StandardScaler

from hpo_common.errors import DataError, InputError
from training.data import PreparedData, Table
from training.tables import is_numeric_feature

MISSING_CATEGORY = "<missing>"


def prepare(
    table: Table, *, val_fraction: float = 0.2, seed: int = 0, max_categories: int = 20
) -> PreparedData:
    """Split `table` into a stratified train/validation holdout and preprocess it.

    The same table, fraction and seed always give the same split and the same matrices.

    Example:
        >>> data = prepare(load_table("examples/wine.csv"), val_fraction=0.2, seed=0)
        >>> data.x_train.dtype, data.n_classes
        (dtype('float32'), 3)
    """
    if not 0.0 < val_fraction < 1.0:
        raise InputError(f"val_fraction must be > 0 and < 1, but got {val_fraction}")
    check_splittable(table)
    rare, rest, strata = _strata(table)
    n_val = int(np.ceil(val_fraction * len(rest)))
    n_train = len(rest) - n_val
    n_strata = 0 if strata is None else len(np.unique(strata))
    stratify = strata if strata is not None and min(n_val, n_train) >= n_strata else None
    train, val = train_test_split(rest, test_size=n_val, random_state=seed, stratify=stratify)
    return _prepared(table, np.concatenate([rare, train]), val, max_categories)


def cv_splits(
    table: Table, *, folds: int = 5, seed: int = 0, max_categories: int = 20
) -> list[PreparedData]:
    """One `PreparedData` per fold of a (stratified, for classification) k-fold split.

    The validation sets are disjoint and together cover every row (except single-row classes,
    which stay in training); the preprocessing is fitted on each fold's training rows.
    """
    if not _is_int(folds) or folds < 2:
        raise InputError(f"folds must be an integer >= 2, but got {folds!r}")
    check_splittable(table, folds)
    splits = _fold_indices(table, folds, seed)
    return [_prepared(table, train, val, max_categories) for train, val in splits]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_splittable(table: Table, folds: int | None = None) -> None:
    """The one rule for "too small to train on": `DataError` unless `table` can be split.

    A holdout split (`folds=None`) needs 2 rows that can go to validation, k-fold CV needs k;
    rows of single-row classes stay in training, so they do not count. `train`, `tune`,
    `lr-find` and `suggest` all apply this rule before doing anything else.
    """
    needed = folds or 2
    usable = len(_strata(table)[1])
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


def _strata(table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Row positions of single-row classes, the other positions, and their class labels
    (None for regression)."""
    positions = np.arange(table.n_rows)
    if table.task == "regression":
        return positions[:0], positions, None
    labels = LabelEncoder().fit_transform(table.y.to_numpy())
    counts = np.bincount(labels)
    single = counts[labels] < 2
    return positions[single], positions[~single], labels[~single]


def _fold_indices(table: Table, folds: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    rare, rest, strata = _strata(table)
    if strata is not None and np.bincount(strata).max() >= folds:
        splitter: KFold | StratifiedKFold = StratifiedKFold(folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Classes smaller than `folds` are spread as evenly as possible; that is all we need.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(rest, strata))
    for train, val in splits:
        yield np.concatenate([rare, rest[train]]), rest[val]


def _category_strings(x: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Categorical values as strings, with missing values as their own category."""
    frame = pd.DataFrame(x)
    return frame.astype(str).mask(frame.isna(), MISSING_CATEGORY).to_numpy(dtype=object)


def _preprocessor(frame: pd.DataFrame, max_categories: int) -> ColumnTransformer:
    numeric = [column for column in frame.columns if is_numeric_feature(frame[column])]
    categorical = [column for column in frame.columns if column not in set(numeric)]
    steps: list[tuple[str, Pipeline, list[str]]] = []
    if numeric:
        steps.append(
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            )
        )
    if categorical:
        steps.append(
            (
                "cat",
                make_pipeline(
                    FunctionTransformer(_category_strings, feature_names_out="one-to-one"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=max_categories,
                        sparse_output=False,
                        dtype=np.float32,
                    ),
                ),
                categorical,
            )
        )
    return ColumnTransformer(steps, sparse_threshold=0.0)


def _prepared(
    table: Table, train: np.ndarray, val: np.ndarray, max_categories: int
) -> PreparedData:
    if not _is_int(max_categories) or max_categories < 2:
        raise InputError(f"max_categories must be an integer >= 2, but got {max_categories!r}")
    transformer = _preprocessor(table.frame, max_categories)
    x_train = transformer.fit_transform(table.frame.iloc[train]).astype(np.float32, copy=False)
    x_val = transformer.transform(table.frame.iloc[val]).astype(np.float32, copy=False)
    if table.task == "regression":
        y = table.y.to_numpy(dtype=np.float32)
        classes: tuple[object, ...] = ()
        n_classes = 1
    else:
        encoder = LabelEncoder().fit(table.y.to_numpy())
        y = encoder.transform(table.y.to_numpy()).astype(np.int64)
        classes = tuple(encoder.classes_.tolist())
        n_classes = len(classes)
    return PreparedData(
        x_train=np.ascontiguousarray(x_train),
        y_train=y[train],
        x_val=np.ascontiguousarray(x_val),
        y_val=y[val],
        task=table.task,
        n_classes=n_classes,
        feature_names=tuple(str(name) for name in transformer.get_feature_names_out()),
        classes=classes,
        preprocessor=transformer,
    )
