"""load_table, fingerprint_frame, prepare and cv_splits on real files written to tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hpo_common.errors import DataError, InputError
from training import cv_splits, fingerprint_frame, load_table, prepare

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def mixed_frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical features with missing values, and a 3-class target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "num": rng.standard_normal(rows),
            "count": rng.integers(0, 5, rows),
            "color": rng.choice(["red", "green", "blue"], rows),
            "flag": rng.choice([True, False], rows),
            "label": rng.choice(["a", "b", "c"], rows),
        }
    )
    frame.loc[::7, "num"] = np.nan
    frame.loc[::5, "color"] = None
    return frame


# --- bad inputs -----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found.*nope.csv"):
        load_table(tmp_path / "nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty.csv' is empty \(0 bytes\)"):
        load_table(write(tmp_path, "empty.csv", ""))


def test_header_only_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="head.csv' has a header but no data rows"):
        load_table(write(tmp_path, "head.csv", "a,b,y\n"))


def test_binary_garbage_is_not_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(os.urandom(2000) + b"\x00")
    with pytest.raises(DataError, match="garbage.csv' is not a CSV file: it contains binary data"):
        load_table(path)


def test_json_is_not_a_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", '{"a": 1, "y": 2}\n{"a": 3, "y": 4}\n')
    with pytest.raises(DataError, match="data.csv' looks like JSON, not CSV"):
        load_table(path)


def test_single_column_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "one.csv", "values\n1\n2\n3\n")
    with pytest.raises(
        DataError, match=r"one.csv' is not a usable table: found 1 column \('values'\)"
    ):
        load_table(path)


def test_ragged_rows_are_not_a_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.csv", "a,b,y\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match="ragged.csv' is not a valid CSV file.*Expected 3 columns"):
        load_table(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "data.xlsx", "a,y\n1,2\n")
    with pytest.raises(
        DataError, match=r"unsupported file type '.xlsx'.*use one of .csv.*.parquet"
    ):
        load_table(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = write(tmp_path, "data.parquet", "a,y\n1,2\n")
    with pytest.raises(DataError, match="data.parquet' is not a readable Parquet file"):
        load_table(path)


def test_unknown_target_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "alpha,beta,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match="target column 'label' is not in .*'alpha', 'beta', 'y'"):
        load_table(path, target="label")


def test_single_class_target(tmp_path: Path) -> None:
    path = write(tmp_path, "one_class.csv", "a,y\n1,yes\n2,yes\n3,yes\n")
    with pytest.raises(DataError, match=r"'y' in '.*one_class.csv' has a single value \('yes'\)"):
        load_table(path)


def test_all_missing_target(tmp_path: Path) -> None:
    path = write(tmp_path, "no_target.csv", "a,y\n1,\n2,\n3,\n")
    with pytest.raises(
        DataError, match="'y' in .*no_target.csv' is empty: all 3 values are missing"
    ):
        load_table(path)


def test_non_numeric_regression_target_names_value_and_row(tmp_path: Path) -> None:
    path = write(tmp_path, "reg.csv", "a,y\n1,1.5\n2,2.5\n3,oops\n4,3.5\n")
    with pytest.raises(
        DataError, match=r"must be numeric.*data row 3 \(line 4 of the file\) has 'oops'"
    ):
        load_table(path, task="regression")


def test_stray_string_in_numeric_target_is_caught_without_override(tmp_path: Path) -> None:
    values = [f"{i * 0.37:.2f}" for i in range(40)]
    values[25] = "n/a?"
    path = write(
        tmp_path, "stray.csv", "a,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    )
    with pytest.raises(DataError, match="data row 26 .* has 'n/a\\?'"):
        load_table(path)


def test_wrong_task_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "three.csv", "a,y\n1,x\n2,y\n3,z\n4,x\n")
    with pytest.raises(DataError, match="task 'binary' needs .* exactly 2 classes.*has 3"):
        load_table(path, task="binary")
    with pytest.raises(DataError, match="must be numeric for task 'regression'.*has 'x'"):
        load_table(path, task="regression")
    with pytest.raises(InputError, match="task must be one of binary, multiclass, regression"):
        load_table(path, task="classification")


def test_duplicate_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(DataError, match="dup.csv' has duplicate column names: 'a'"):
        load_table(path)
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["a", "a", "y"])
    with pytest.raises(DataError, match="duplicate column names: 'a'"):
        load_table(frame)


def test_all_nan_feature_is_dropped_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "nan.csv", "a,empty,y\n1,,0\n2,,1\n3,,0\n4,,1\n")
    table = load_table(path)
    assert list(table.frame.columns) == ["a"]
    assert "dropped column 'empty': all values are missing" in table.notes


def test_no_usable_feature_left(tmp_path: Path) -> None:
    path = write(tmp_path, "useless.csv", "empty,same,y\n,1,0\n,1,1\n,1,0\n")
    with pytest.raises(
        DataError, match="no usable feature column.*'empty': all values are missing"
    ):
        load_table(path)


def test_drop_unknown_column_and_target(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    with pytest.raises(DataError, match="cannot drop 'zz': not in .*'a', 'b'"):
        load_table(path, drop=["zz"])
    with pytest.raises(DataError, match="cannot drop 'y': it is the target"):
        load_table(path, drop=["y"])
    assert list(load_table(path, drop=["b"]).frame.columns) == ["a"]


def test_prepare_and_cv_argument_checks() -> None:
    table = load_table(EXAMPLES / "wine.csv")
    with pytest.raises(InputError, match="val_fraction must be > 0 and < 1, but got 1.5"):
        prepare(table, val_fraction=1.5)
    with pytest.raises(InputError, match="folds must be an integer >= 2, but got 1"):
        cv_splits(table, folds=1)
    with pytest.raises(InputError, match="max_categories must be an integer >= 2"):
        prepare(table, max_categories=0)


# --- what loading decides ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "target", "task", "n_classes"),
    [
        ("breast_cancer", "diagnosis", "binary", 2),
        ("diabetes", "progression", "regression", 0),
        ("wine", "cultivar", "multiclass", 3),
    ],
)
def test_task_inference_on_examples(name: str, target: str, task: str, n_classes: int) -> None:
    table = load_table(EXAMPLES / f"{name}.csv", target=target)
    assert (table.name, table.task, table.n_classes) == (name, task, n_classes)
    assert (
        f"task: inferred '{task}' from target '{target}' (pass --task to override)" in table.notes
    )
    assert table.target not in table.frame.columns and len(table.y) == table.n_rows


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1] * 20, "binary"),
        ([0.0, 1.0] * 20, "binary"),
        ([1, 2, 3, 4] * 10, "multiclass"),
        ([1.0, 2.0, 3.0] * 13 + [1.0], "multiclass"),
        (list(range(40)), "regression"),
        ([i / 3 for i in range(40)], "regression"),
    ],
)
def test_task_rule(values: list[float], task: str) -> None:
    frame = pd.DataFrame({"a": np.arange(len(values)) * 0.5, "y": values})
    assert load_table(frame).task == task


def test_default_target_missing_rows_constant_and_id_columns(tmp_path: Path) -> None:
    lines = ["id,name,const,x,y"] + [
        f"{i},n{i},7,{i % 3},{'' if i == 4 else i % 2}" for i in range(10)
    ]
    table = load_table(write(tmp_path, "notes.csv", "\n".join(lines) + "\n"))
    assert table.target == "y" and list(table.frame.columns) == ["x"] and table.n_rows == 9
    assert table.notes[0] == "target: using last column 'y' (pass --target to choose)"
    assert "dropped 1 rows with a missing target 'y'" in table.notes
    assert "dropped column 'id': ID-like (a different integer in every row)" in table.notes
    assert "dropped column 'name': ID-like (a different value in every row)" in table.notes
    assert "dropped column 'const': constant (every value is 7)" in table.notes


def test_saved_pandas_index_is_dropped_but_an_integer_feature_is_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame({"steps": [3, 1, 4, 5, 9, 2], "y": [0, 1, 0, 1, 0, 1]})
    frame.to_csv(tmp_path / "saved.csv", index=True)
    table = load_table(tmp_path / "saved.csv")
    assert list(table.frame.columns) == ["steps"]
    assert "dropped column 'Unnamed: 0': ID-like (a different integer in every row)" in table.notes


def test_infinite_values_become_missing() -> None:
    frame = pd.DataFrame({"a": [1.0, np.inf, 3.0, -np.inf], "y": [0, 1, 0, 1]})
    table = load_table(frame)
    assert table.frame["a"].isna().sum() == 2
    assert "column 'a': 2 infinite values treated as missing" in table.notes


def test_latin1_csv(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,x,y\ncafé,1,0\nnaïve,2,1\ncafé,3,0\n".encode("latin-1"))
    assert list(load_table(path).frame["name"]) == ["café", "naïve", "café"]


def test_semicolon_csv(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, "semi.csv", "a;b;y\n1;2;0\n3;5;1\n4;4;0\n"))
    assert list(table.frame.columns) == ["a", "b"] and table.task == "binary"


# --- fingerprints ------------------------------------------------------------------------------


def test_fingerprint_same_file_same_id_and_row_order_ignored(tmp_path: Path) -> None:
    frame = mixed_frame()
    first = tmp_path / "a.csv"
    frame.to_csv(first, index=False)
    shuffled = tmp_path / "b.csv"
    frame.sample(frac=1.0, random_state=1)[list(reversed(frame.columns))].to_csv(
        shuffled, index=False
    )
    table = load_table(first, target="label")
    assert len(table.fingerprint) == 16 and int(table.fingerprint, 16) >= 0
    assert load_table(first, target="label").fingerprint == table.fingerprint
    # Documented rule: row order and column order do not change the id.
    assert load_table(shuffled, target="label").fingerprint == table.fingerprint
    # The target is part of the dataset's identity.
    assert load_table(first, target="count").fingerprint != table.fingerprint


def test_fingerprint_changes_with_any_cell(tmp_path: Path) -> None:
    frame = mixed_frame()
    base = fingerprint_frame(frame)
    seen = {base}
    for row, column in [(1, "num"), (10, "color"), (59, "label"), (3, "count"), (8, "flag")]:
        changed = frame.copy()
        value = changed.at[row, column]
        changed.at[row, column] = (
            not value if column == "flag" else value + 1 if column in ("num", "count") else "zzz"
        )
        seen.add(fingerprint_frame(changed))
    assert len(seen) == 6
    # Index labels do not count; a renamed column does.
    assert fingerprint_frame(frame.set_axis(np.arange(100, 160))) == base
    assert fingerprint_frame(frame.rename(columns={"num": "number"})) != base


def test_fingerprint_covers_dropped_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "id,a,b,y\n0,1,2,0\n1,3,4,1\n2,5,6,0\n3,7,9,1\n")
    table = load_table(path)
    assert "id" not in table.frame.columns
    assert load_table(path, drop=["b"]).fingerprint == table.fingerprint
    changed = write(tmp_path, "g.csv", "id,a,b,y\n0,1,2,0\n1,3,4,1\n2,5,6,0\n7,7,9,1\n")
    assert load_table(changed).fingerprint != table.fingerprint


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    frame.to_csv(tmp_path / "m.csv", index=False)
    from_parquet = load_table(tmp_path / "m.parquet", target="label")
    from_csv = load_table(tmp_path / "m.csv", target="label")
    assert from_parquet.name == "m" and from_parquet.task == "multiclass"
    assert list(from_parquet.frame.columns) == list(from_csv.frame.columns)
    assert from_parquet.fingerprint == from_csv.fingerprint
    pd.testing.assert_series_equal(from_parquet.y, from_csv.y, check_dtype=False)


# --- prepare and cv_splits ---------------------------------------------------------------------


def test_prepare_shapes_dtypes_no_nan() -> None:
    table = load_table(mixed_frame(200), target="label")
    data = prepare(table, val_fraction=0.25, seed=3)
    assert data.x_train.shape[0] == 150 and data.x_val.shape[0] == 50
    assert data.x_train.dtype == np.float32 and data.x_val.dtype == np.float32
    assert data.y_train.dtype == np.int64 and set(np.unique(data.y_train)) == {0, 1, 2}
    assert not np.isnan(data.x_train).any() and not np.isnan(data.x_val).any()
    assert data.classes == ("a", "b", "c") and data.n_classes == 3
    assert len(data.feature_names) == data.x_train.shape[1]
    # 'num' had missing values: it gets an indicator column; 'color' has a <missing> category.
    assert "num__missingindicator_num" in data.feature_names
    assert "cat__color_<missing>" in data.feature_names


def test_prepare_regression_targets() -> None:
    data = prepare(load_table(EXAMPLES / "diabetes.csv"))
    assert data.y_train.dtype == np.float32 and data.n_classes == 1 and data.classes == ()
    assert data.x_train.shape == (353, 10) and data.x_val.shape == (89, 10)
    assert abs(float(data.x_train.mean())) < 1e-5


def test_prepare_is_stratified_and_deterministic() -> None:
    table = load_table(EXAMPLES / "breast_cancer.csv", target="diagnosis")
    first, again = prepare(table, seed=7), prepare(table, seed=7)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert not np.array_equal(prepare(table, seed=8).x_val, first.x_val)
    overall = (table.y == first.classes[1]).mean()
    assert abs(first.y_val.mean() - overall) < 0.01 and abs(first.y_train.mean() - overall) < 0.01


def test_max_categories_caps_one_hot_and_unseen_categories_are_handled() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"city": [f"c{i % 30}" for i in range(300)], "y": rng.standard_normal(300)}
    )
    data = prepare(load_table(frame), max_categories=5)
    assert data.x_train.shape[1] == 5
    unseen = pd.DataFrame({"city": ["never-seen"]})
    assert data.preprocessor.transform(unseen).sum() == 1.0  # the infrequent column


def test_single_row_class_stays_in_training(tmp_path: Path) -> None:
    labels = ["a", "b"] * 10 + ["rare"]
    path = write(
        tmp_path, "rare.csv", "x,y\n" + "".join(f"{i},{c}\n" for i, c in enumerate(labels))
    )
    table = load_table(path, task="multiclass")
    assert any("with a single row: 'rare'" in note for note in table.notes)
    rare_index = list(prepare(table).classes).index("rare")
    for data in [prepare(table, seed=s) for s in range(3)] + cv_splits(table, folds=4):
        assert rare_index in data.y_train and rare_index not in data.y_val


def _raw_first_feature(data: object) -> np.ndarray:
    """Undo the fold's scaling of the first numeric column, to identify validation rows."""
    scaler = data.preprocessor.named_transformers_["num"][-1]  # type: ignore[attr-defined]
    return data.x_val[:, 0] * scaler.scale_[0] + scaler.mean_[0]  # type: ignore[attr-defined]


def test_cv_splits_disjoint_and_stratified() -> None:
    table = load_table(EXAMPLES / "wine.csv", target="cultivar")
    folds = cv_splits(table, folds=4, seed=1)
    assert len(folds) == 4
    rows = np.concatenate([np.round(_raw_first_feature(f), 6) for f in folds])
    alcohol = np.round(table.frame["alcohol"].to_numpy(), 6)
    assert len(rows) == table.n_rows and sorted(rows) == sorted(alcohol)
    for data in folds:
        assert len(data.y_train) + len(data.y_val) == table.n_rows
        counts = np.bincount(data.y_val, minlength=3) / len(data.y_val)
        assert np.all(
            np.abs(counts - table.y.value_counts(normalize=True).sort_index().values) < 0.05
        )
    again = cv_splits(table, folds=4, seed=1)
    np.testing.assert_array_equal(again[2].x_val, folds[2].x_val)
