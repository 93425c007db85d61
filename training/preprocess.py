"""From a `Table` to model-ready `PreparedData`: split deterministically, fit the preprocessing on
the training rows only, and encode the target.

Preprocessing (scikit-learn `ColumnTransformer`), the default recipe first:
- numeric columns: median imputation, a missing-indicator column for each feature that has
  missing values in the training rows, then standardisation (`numeric_preprocessing="standard"`;
  "robust": `RobustScaler` then RealMLP's smooth clipping x / sqrt(1 + (x/3)^2); "quantile":
  `QuantileTransformer` to a normal distribution);
- every other column (text, categorical, boolean): values as strings with missing values as their
  own category "<missing>", then one-hot encoding that keeps the `max_categories - 1` most frequent
  categories and folds the rest, and unseen ones, into an "infrequent" column
  (`categorical="onehot"`; with "embedding", columns with more than `max_categories` categories
  become one integer code column each, 0 for unseen values, for the model's embedding layer).

The matrices are laid out as [numeric | one-hot | codes]. `prepare` builds the default recipe;
`for_config` gives the variant a `TrainConfig` asks for, refitted on the same training rows.
Regression targets are transformed by `fit_target_transform` (`target_transform`).

Splits are stratified for classification. A class with a single row cannot be stratified: its
rows always go to the training split (of every fold), and the other rows are stratified as usual.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    LabelEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from hpo_common.errors import DataError, InputError
from training._strata import check_splittable, split_strata
from training.config import TrainConfig
from training.data import PreparedData, Table
from training.tables import is_numeric_feature

MISSING_CATEGORY = "<missing>"
# RealMLP's smooth clipping bound: robust-scaled values beyond about +-3 are squashed towards it.
CLIP_SCALE = 3.0
# Quantiles a QuantileTransformer keeps (scikit-learn's default), at most one per training row.
N_QUANTILES = 1000
DEFAULT_RECIPE = ("standard", "onehot")


@dataclass(frozen=True)
class _Source:
    """What a `PreparedData` was built from, so `for_config` can refit another recipe."""

    table: Table
    train: np.ndarray
    val: np.ndarray
    max_categories: int
    variants: dict[tuple[str, str], PreparedData] = field(default_factory=dict, compare=False)


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
    rare, rest, strata = split_strata(table)
    n_val = int(np.ceil(val_fraction * len(rest)))
    n_train = len(rest) - n_val
    n_strata = 0 if strata is None else len(np.unique(strata))
    stratify = strata if strata is not None and min(n_val, n_train) >= n_strata else None
    train, val = train_test_split(rest, test_size=n_val, random_state=seed, stratify=stratify)
    return _prepared(table, np.concatenate([rare, train]), val, max_categories, DEFAULT_RECIPE)


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
    return [_prepared(table, train, val, max_categories, DEFAULT_RECIPE) for train, val in splits]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fold_indices(table: Table, folds: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    rare, rest, strata = split_strata(table)
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


def _after_unseen(codes: np.ndarray) -> np.ndarray:
    """Category codes from 1 up; 0 is the code of unseen values (the encoder's -1)."""
    return codes + 1


def _smooth_clip(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(1.0 + (x / CLIP_SCALE) ** 2)


def _numeric_scaler(kind: str, n_rows: int) -> list[object]:
    """The scaling steps of `numeric_preprocessing=kind` (fitted on `n_rows` training rows)."""
    if kind == "robust":
        return [RobustScaler(), FunctionTransformer(_smooth_clip, feature_names_out="one-to-one")]
    if kind == "quantile":
        return [
            QuantileTransformer(
                n_quantiles=max(1, min(N_QUANTILES, n_rows)),
                output_distribution="normal",
                subsample=None,
            )
        ]
    return [StandardScaler()]


def _preprocessor(
    frame: pd.DataFrame, max_categories: int, recipe: tuple[str, str]
) -> ColumnTransformer:
    numeric_kind, categorical_kind = recipe
    numeric = [column for column in frame.columns if is_numeric_feature(frame[column])]
    categorical = [column for column in frame.columns if column not in set(numeric)]
    embedded = (
        [column for column in categorical if frame[column].nunique(dropna=False) > max_categories]
        if categorical_kind == "embedding"
        else []
    )
    categorical = [column for column in categorical if column not in set(embedded)]
    steps: list[tuple[str, Pipeline, list[str]]] = []
    if numeric:
        steps.append(
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    *_numeric_scaler(numeric_kind, len(frame)),
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
    if embedded:
        steps.append(
            (
                "emb",
                make_pipeline(
                    FunctionTransformer(_category_strings, feature_names_out="one-to-one"),
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32
                    ),
                    FunctionTransformer(_after_unseen, feature_names_out="one-to-one"),
                ),
                embedded,
            )
        )
    return ColumnTransformer(steps, sparse_threshold=0.0)


def for_config(data: PreparedData, config: TrainConfig) -> PreparedData:
    """`data` preprocessed as `config` asks (`numeric_preprocessing`, `categorical`).

    The default recipe is `data` itself; another one is refitted on the same training rows (once
    per recipe: variants are kept with the data) and needs data made by `prepare`/`cv_splits`.
    """
    recipe = (config.numeric_preprocessing, config.categorical)
    if recipe == data.recipe:
        return data
    source = data.source
    if not isinstance(source, _Source):
        raise DataError(
            f"numeric_preprocessing={recipe[0]!r} with categorical={recipe[1]!r} refits the "
            f"preprocessing, which needs data from training.prepare or training.cv_splits; this "
            f"PreparedData was built by hand with {data.recipe}"
        )
    if (len(data.x_train), len(data.x_val)) != (len(source.train), len(source.val)):
        raise DataError(
            f"this PreparedData has {len(data.x_train)} training and {len(data.x_val)} validation "
            f"rows, but was prepared with {len(source.train)} and {len(source.val)}: call "
            f"for_config before changing its rows"
        )
    if recipe not in source.variants:
        source.variants[recipe] = _prepared(
            source.table, source.train, source.val, source.max_categories, recipe
        )
    return source.variants[recipe]


def fit_target_transform(kind: str, y_train: np.ndarray, y_val: np.ndarray) -> Pipeline:
    """A scikit-learn transformer for `target_transform=kind`, fitted on the training targets.

    `transform` gives what the loss sees, `inverse_transform` brings predictions back to the
    original units. "log1p" needs every target (training and validation) to be >= 0.
    """
    y = np.asarray(y_train, dtype=np.float64).reshape(-1, 1)
    if kind == "log1p":
        low = float(min(np.min(y_train), np.min(y_val)))
        if low < 0:
            raise DataError(
                f"target_transform='log1p' needs a target >= 0, but the target has the value "
                f"{low:g}; use target_transform 'none', 'standard' or 'quantile'"
            )
        steps: list[object] = [
            FunctionTransformer(np.log1p, inverse_func=np.expm1, check_inverse=False),
            StandardScaler(),
        ]
    elif kind == "quantile":
        steps = _numeric_scaler("quantile", len(y))
    elif kind == "standard":
        steps = [StandardScaler()]
    else:
        steps = [FunctionTransformer()]
    return make_pipeline(*steps).fit(y)


def _prepared(
    table: Table, train: np.ndarray, val: np.ndarray, max_categories: int, recipe: tuple[str, str]
) -> PreparedData:
    if not _is_int(max_categories) or max_categories < 2:
        raise InputError(f"max_categories must be an integer >= 2, but got {max_categories!r}")
    transformer = _preprocessor(table.frame.iloc[train], max_categories, recipe)
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
    names = tuple(str(name) for name in transformer.get_feature_names_out())
    return PreparedData(
        x_train=np.ascontiguousarray(x_train),
        y_train=y[train],
        x_val=np.ascontiguousarray(x_val),
        y_val=y[val],
        task=table.task,
        n_classes=n_classes,
        feature_names=names,
        classes=classes,
        preprocessor=transformer,
        n_numeric=sum(name.startswith("num__") for name in names),
        cardinalities=_cardinalities(transformer),
        recipe=recipe,
        source=_Source(table, train, val, max_categories),
    )


def _cardinalities(transformer: ColumnTransformer) -> tuple[int, ...]:
    """Codes of each embedded column (its training categories plus one for unseen values)."""
    for name, pipeline, _ in transformer.transformers_:
        if name == "emb":
            encoder = pipeline.named_steps["ordinalencoder"]
            return tuple(len(categories) + 1 for categories in encoder.categories_)
    return ()
