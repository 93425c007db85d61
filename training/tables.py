"""Turn a user's file or DataFrame into a `Table`: pick the target, infer the task, drop unusable
columns, and say in `Table.notes` what was decided on the user's behalf.

Task rule (override with `task=`):
- a non-numeric or boolean target is classification;
- a numeric target with exactly 2 distinct values is binary;
- a numeric target whose values are all integers (e.g. 0, 1, 2 or 1.0, 2.0) with at most
  `MAX_INTEGER_CLASSES` (20) distinct values is classification;
- any other numeric target (floats, or integers with many distinct values) is regression.
Classification is "binary" with 2 classes and "multiclass" with more.

Columns dropped with a note: those named in `drop=`, all-missing features, constant features,
and ID-like features (unique in every row and either text, or integers named like an id:
'id', 'index', 'rownames', '*_id', or a blank header, which pandas and R write for a saved
index). Rows with a missing target are dropped with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hpo_common.errors import DataError, InputError
from training.data import TASKS, Table
from training.fingerprint import combine_fingerprint, fingerprint_frame
from training.readers import file_suffix, read_frame

MAX_INTEGER_CLASSES = 20
_ID_NAMES = ("id", "index", "rownames", "row_id", "rowid", "uuid")
_ID_SUFFIXES = ("_id", " id")
_SHOWN = 20


def load_table(
    source: str | Path | pd.DataFrame,
    target: str | None = None,
    task: str | None = None,
    name: str | None = None,
    drop: Sequence[str] = (),
) -> Table:
    """Load a CSV/Parquet file or a DataFrame into a `Table` ready for `prepare`.

    Args:
        source: a path to a .csv (.tsv, .csv.gz) or .parquet file, or a DataFrame.
        target: the target column's name; default the last column (stated in `notes`).
        task: "binary", "multiclass" or "regression"; default inferred (see the module docstring).
        name: a human name; default the file's stem ("dataframe" for a DataFrame).
        drop: feature columns to leave out.

    Raises:
        DataError: the data cannot be used; the message names the file, column, row or value.

    Example:
        >>> table = load_table("examples/wine.csv", target="cultivar")
        >>> table.task, table.n_classes
        ('multiclass', 3)
    """
    if task is not None and task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}, but got {task!r}")
    if isinstance(source, pd.DataFrame):
        label, raw = "the DataFrame", _checked_frame(source)
        default_name = "dataframe"
    else:
        path = Path(source)
        label, raw = f"'{path}'", read_frame(path)
        default_name = path.name[: -len(file_suffix(path))] or path.name
    notes: list[str] = []
    target = _resolve_target(raw, target, label, notes)
    fingerprint = combine_fingerprint(fingerprint_frame(raw), f"target={target}")

    y = raw[target]
    missing = y.isna()
    if missing.all():
        raise DataError(
            f"target column '{target}' in {label} is empty: all {len(y)} values are missing"
        )
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows with a missing target '{target}'")
        raw = raw.loc[~missing]
        y = raw[target]
    task, y = _resolve_task(y, task, label, notes)
    frame = _clean_features(raw.drop(columns=[target]), drop, target, label, notes)
    return Table(
        frame=frame.reset_index(drop=True),
        y=y.reset_index(drop=True),
        target=target,
        task=task,
        fingerprint=fingerprint,
        name=name or default_name,
        notes=tuple(notes),
    )


def _checked_frame(frame: pd.DataFrame) -> pd.DataFrame:
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        raise DataError(
            "the DataFrame has duplicate column names: "
            f"{_columns_hint(list(duplicated.unique()))}; every column needs a unique name"
        )
    if frame.shape[1] < 2:
        raise DataError("the DataFrame needs a target and at least one feature column")
    if len(frame) == 0:
        raise DataError("the DataFrame has no rows")
    frame = frame.rename(columns=str)
    return frame.reset_index(drop=True)


def _show(value: object) -> str:
    """A value as the user wrote it: 7 or 'abc', not np.int64(7)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _columns_hint(columns: Sequence[str]) -> str:
    shown = ", ".join(_show(c) for c in columns[:_SHOWN])
    more = f", ... ({len(columns) - _SHOWN} more)" if len(columns) > _SHOWN else ""
    return shown + more


def _resolve_target(raw: pd.DataFrame, target: str | None, label: str, notes: list[str]) -> str:
    columns = list(raw.columns)
    if target is None:
        target = columns[-1]
        notes.append(f"target: using last column '{target}' (pass --target to choose)")
    elif target not in raw.columns:
        raise DataError(
            f"target column '{target}' is not in {label}; its columns are: {_columns_hint(columns)}"
        )
    return target


def _row_label(y: pd.Series, position: int, label: str) -> str:
    """Where a value sits, in the user's terms: a file's data row (header excluded) or a label."""
    index = y.index[position]
    if label == "the DataFrame":
        return f"row {index} (0-based position)"
    return f"data row {int(index) + 1} (line {int(index) + 2} of the file)"


def _numeric_target(y: pd.Series, target: str, label: str) -> pd.Series:
    """The target as floats, or a DataError naming the first value that is not a number."""
    if pd.api.types.is_bool_dtype(y.dtype):
        raise DataError(
            f"target column '{target}' in {label} is boolean, so it cannot be a regression target; "
            "use task 'binary'"
        )
    values = pd.to_numeric(y.astype(object), errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if len(bad):
        first = int(bad[0])
        raise DataError(
            f"target column '{target}' in {label} must be numeric for task 'regression', but "
            f"{_row_label(y, first, label)} has {_show(y.iloc[first])} ({len(bad)} non-numeric "
            "values in all); fix those values, or use task 'binary'/'multiclass'"
        )
    return values.astype("float64")


def _infer_task(y: pd.Series, target: str, label: str) -> str:
    n_unique = int(y.nunique())
    if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
        parsed = pd.to_numeric(y.astype(object), errors="coerce")
        if n_unique <= MAX_INTEGER_CLASSES or parsed.notna().mean() < 0.5:
            return "binary" if n_unique == 2 else "multiclass"
        # Mostly numbers with many distinct values: a regression target, perhaps with stray
        # strings in it, which `_numeric_target` names.
        _numeric_target(y, target, label)
        return "regression"
    if n_unique == 2:
        return "binary"
    integral = bool(np.all(np.mod(y.to_numpy(dtype="float64"), 1.0) == 0.0))
    if integral and n_unique <= MAX_INTEGER_CLASSES:
        return "multiclass"
    return "regression"


def _resolve_task(
    y: pd.Series, task: str | None, label: str, notes: list[str]
) -> tuple[str, pd.Series]:
    target = str(y.name)
    n_unique = int(y.nunique())
    if n_unique < 2:
        raise DataError(
            f"target column '{target}' in {label} has a single value ({_show(y.iloc[0])}) in all "
            f"{len(y)} rows; a target needs at least 2 distinct values"
        )
    if task is None:
        task = _infer_task(y, target, label)
        notes.append(f"task: inferred '{task}' from target '{target}' (pass --task to override)")
    if task == "regression":
        return task, _numeric_target(y, target, label)
    if task == "binary" and n_unique != 2:
        raise DataError(
            f"task 'binary' needs a target with exactly 2 classes, but '{target}' in {label} has "
            f"{n_unique}; use task 'multiclass' or 'regression'"
        )
    if task == "multiclass" and n_unique < 3:
        raise DataError(
            f"task 'multiclass' needs a target with at least 3 classes, but '{target}' in {label} "
            "has 2; use task 'binary'"
        )
    if n_unique > max(MAX_INTEGER_CLASSES, len(y) / 2):
        notes.append(
            f"target '{target}' has {n_unique} classes in {len(y)} rows (more than half): if it "
            "is a quantity rather than a label, pass --task regression"
        )
    counts = y.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        notes.append(
            f"classes of '{target}' with a single row: {_columns_hint(list(rare.index))}; "
            "they always go to the training split and are left out of stratification"
        )
    return task, y


def _clean_features(
    features: pd.DataFrame, drop: Sequence[str], target: str, label: str, notes: list[str]
) -> pd.DataFrame:
    drop = list(drop)
    if target in drop:
        raise DataError(f"cannot drop '{target}': it is the target column")
    unknown = [column for column in drop if column not in features.columns]
    if unknown:
        raise DataError(
            f"cannot drop {_columns_hint(unknown)}: not in {label}; its feature columns are: "
            f"{_columns_hint(list(features.columns))}"
        )
    if drop:
        notes.append(f"dropped columns as asked: {_columns_hint(drop)}")
        features = features.drop(columns=drop)
    features = _infinities_to_missing(features, notes)
    notes.extend(filter(None, (_mostly_numbers(features[column]) for column in features.columns)))
    reasons = {column: _unusable(features[column]) for column in features.columns}
    for column, reason in reasons.items():
        if reason:
            notes.append(f"dropped column '{column}': {reason}")
    usable = [column for column, reason in reasons.items() if not reason]
    if not usable:
        why = "; ".join(f"'{column}': {reason}" for column, reason in reasons.items())
        raise DataError(
            f"{label} has no usable feature column besides the target '{target}' "
            f"({why or 'none'}); a table needs at least one feature column that varies"
        )
    return features if len(usable) == features.shape[1] else features[usable]


def is_numeric_feature(column: pd.Series) -> bool:
    """Numbers are scaled; everything else (text, categories, booleans) is one-hot encoded."""
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    )


def _infinities_to_missing(features: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Infinite values cannot be scaled; treat them as missing (imputed later) and say so."""
    floats = features.select_dtypes("floating")
    infinite = np.isinf(floats.to_numpy()).sum(axis=0) if floats.shape[1] else np.zeros(0)
    counts = {column: int(count) for column, count in zip(floats.columns, infinite, strict=True)}
    changed = [column for column, count in counts.items() if count]
    if not changed:
        return features
    for column in changed:
        notes.append(f"column '{column}': {counts[column]} infinite values treated as missing")
    features = features.copy()
    features[changed] = features[changed].replace([np.inf, -np.inf], np.nan)
    return features


def _mostly_numbers(column: pd.Series) -> str:
    """A note when a text column is numbers but for a few cells (then it is one-hot encoded)."""
    if is_numeric_feature(column) or pd.api.types.is_bool_dtype(column.dtype):
        return ""
    present = column.dropna()
    head = present.iloc[:1000]  # a text column shows itself in its first cells: stay cheap
    if len(head) == 0 or pd.to_numeric(head, errors="coerce").isna().mean() > 0.1:
        return ""
    bad = present[pd.to_numeric(present, errors="coerce").isna()]
    if len(bad) == 0 or len(bad) > 0.1 * len(present):
        return ""
    return (
        f"column '{column.name}' is numbers except {len(bad)} of {len(present)} cells "
        f"({_columns_hint(list(bad.unique()))}), so it is treated as categorical; clear or fix "
        "those cells to use it as a number"
    )


def _unusable(column: pd.Series) -> str:
    """Why a feature column carries no usable signal, or "" if it does."""
    missing = column.isna()
    n_missing = int(missing.sum())
    if n_missing == len(column):
        return "all values are missing"
    if is_numeric_feature(column):
        low, high = column.min(), column.max()
        if low == high and n_missing == 0:
            return f"constant (every value is {_show(low)})"
        if pd.api.types.is_integer_dtype(column.dtype) and _id_like_integers(column):
            return "ID-like (a different integer in every row)"
        return ""
    n_unique = int(column.nunique(dropna=False))
    if n_unique == 1:
        return f"constant (every value is {_show(column.iloc[0])})"
    if n_unique == len(column) and n_missing == 0 and len(column) > 2:
        return "ID-like (a different value in every row)"
    return ""


def _id_like_integers(column: pd.Series) -> bool:
    """Integers are IDs only by name: a value per row alone also fits a genuine count feature."""
    name = str(column.name).strip().lower()
    named_like_id = name in _ID_NAMES or name.endswith(_ID_SUFFIXES) or name.startswith("unnamed:")
    return named_like_id and len(column) > 2 and int(column.nunique()) == len(column)
