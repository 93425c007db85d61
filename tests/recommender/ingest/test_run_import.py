"""`hpo-recommend log` / `import_runs`: CSV and JSONL round trips, and every validation error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hpo_common.errors import DataError, InputError, NotFoundError
from knowledge_base import KnowledgeBase
from recommender.cli import app
from recommender.ingest import import_runs

GOOD_ROWS = [
    {"optimizer": "adam", "learning_rate": "0.001", "batch_size": "64", "metric": "log_loss",
     "value": "0.31", "status": "ok", "epochs": "20", "seed": "1", "my_tag": "baseline"},
    {"optimizer": "sgd", "learning_rate": "0.1", "momentum": "0.9", "nesterov": "true",
     "batch_size": "32", "metric": "accuracy", "value": "0.88", "epochs": "12"},
    {"optimizer": "sgd", "learning_rate": "5", "momentum": "0", "nesterov": "false",
     "batch_size": "32", "metric": "log_loss", "value": "", "status": "diverged"},
]


@pytest.fixture
def data_csv(tmp_path) -> str:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = (frame["a"] > 0).astype(int)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


def write_csv(path, rows) -> str:
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_csv_round_trip_registers_the_dataset_and_is_idempotent(data_csv, tmp_path) -> None:
    kb = KnowledgeBase(":memory:")
    runs_csv = write_csv(tmp_path / "runs.csv", GOOD_ROWS)
    report = import_runs(kb, runs_csv, dataset=data_csv, target="y")
    assert (report.rows, report.imported, report.already_stored, report.invalid) == (3, 3, 0, ())
    assert kb.get_dataset(report.dataset_id).task == "binary"
    assert not kb.meta_features([report.dataset_id]).empty

    runs = kb.runs(dataset_id=report.dataset_id).set_index("seed", drop=False)
    first = runs[runs["objective"] == "log_loss"].sort_values("value").iloc[0]
    assert (first["optimizer"], first["batch_size"], first["value"]) == ("adam", 64, 0.31)
    assert json.loads(first["config_extra"]) == {"my_tag": "baseline"}
    assert pd.isna(first["dropout"])  # not given: left empty, not a default
    assert set(runs["source"]) == {"log"}
    assert sorted(runs["status"]) == ["diverged", "ok", "ok"]
    nesterov = runs[runs["optimizer"] == "sgd"]["nesterov"].dropna().tolist()
    assert sorted(nesterov) == [False, True]

    again = import_runs(kb, runs_csv, dataset=data_csv, target="y")
    assert (again.imported, again.already_stored) == (0, 3)


def test_jsonl_round_trip_with_a_known_dataset_id(data_csv, tmp_path) -> None:
    kb = KnowledgeBase(":memory:")
    dataset_id = import_runs(
        kb, write_csv(tmp_path / "first.csv", GOOD_ROWS[:1]), dataset=data_csv, target="y"
    ).dataset_id
    lines = [{"optimizer": "adamw", "learning_rate": 0.01, "width": 32, "accuracy": 0.9,
              "log_loss": 0.25, "seed": 3, "extra": {"nested": 1}}]
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    report = import_runs(kb, path, dataset_id=dataset_id)
    assert report.imported == 1
    logged = kb.runs(dataset_id=dataset_id)
    run = kb.get_run(logged.loc[logged["seed"] == 3, "id"].item())
    assert (run.objective, run.value, run.direction) == ("log_loss", 0.25, "minimize")
    assert run.metrics == {"accuracy": 0.9, "log_loss": 0.25}
    assert run.config == {"optimizer": "adamw", "learning_rate": 0.01, "width": 32,
                          "extra": {"nested": 1}}


BAD_ROWS = [
    ({"learning_rate": "abc"}, "learning_rate", "must be a number"),
    ({"optimizer": "foo"}, "optimizer", "must be one of sgd"),
    ({"optimizer": "adam", "nesterov": "true"}, "nesterov", "needs optimizer='sgd'"),
    ({"status": "done"}, "status", "must be one of ok"),
    ({"value": ""}, "value", "a score is required"),
    ({"value": "inf"}, "value", "finite"),
    ({"metric": "r2"}, "metric", "does not apply to a binary dataset"),
    ({"metric": "f1"}, "metric", "add a 'direction' column"),
    ({"metric": "accuracy", "direction": "minimize"}, "direction", "is to maximize"),
    ({"epochs": "-1"}, "epochs", "integer >= 0"),
    ({"seed": "1.5"}, "seed", "integer >= 0"),
]


def _rows_with_problems() -> list[dict]:
    base = {"optimizer": "adam", "learning_rate": "0.01", "metric": "log_loss", "value": "0.5"}
    return [base] + [{**base, **change} for change, _, _ in BAD_ROWS]


def test_every_bad_row_is_reported_and_nothing_is_imported(data_csv, tmp_path) -> None:
    kb = KnowledgeBase(":memory:")
    runs_csv = write_csv(tmp_path / "runs.csv", _rows_with_problems())
    with pytest.raises(InputError) as caught:
        import_runs(kb, runs_csv, dataset=data_csv, target="y")
    message = str(caught.value)
    assert f"{len(BAD_ROWS)} of {len(BAD_ROWS) + 1} rows" in message
    for row, (_, column, reason) in enumerate(BAD_ROWS, start=2):
        assert f"row {row}, column '{column}'" in message and reason in message
    assert kb.stats()["runs"] == 0 and kb.stats()["datasets"] == 0


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(data_csv, tmp_path) -> None:
    kb = KnowledgeBase(":memory:")
    runs_csv = write_csv(tmp_path / "runs.csv", _rows_with_problems())
    report = import_runs(kb, runs_csv, dataset=data_csv, target="y", skip_invalid=True)
    assert report.imported == 1
    assert sorted({p.row for p in report.invalid}) == list(range(2, len(BAD_ROWS) + 2))
    assert [(p.row, p.column, p.value) for p in report.invalid][0] == (2, "learning_rate", "abc")


def test_file_level_errors(data_csv, tmp_path) -> None:
    kb = KnowledgeBase(":memory:")
    no_score = write_csv(tmp_path / "runs.csv", [{"learning_rate": "0.1"}])
    with pytest.raises(InputError, match="no score"):
        import_runs(kb, no_score, dataset=data_csv, target="y")
    with pytest.raises(InputError, match="exactly one"):
        import_runs(kb, no_score)
    with pytest.raises(NotFoundError):
        import_runs(kb, no_score, dataset_id="unknown")
    with pytest.raises(DataError, match="not found"):
        import_runs(kb, tmp_path / "absent.csv", dataset=data_csv)
    (tmp_path / "runs.txt").write_text("x")
    with pytest.raises(DataError, match="unsupported"):
        import_runs(kb, tmp_path / "runs.txt", dataset=data_csv)
    (tmp_path / "bad.jsonl").write_text('{"value": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match="line 2 must be a JSON object"):
        import_runs(kb, tmp_path / "bad.jsonl", dataset=data_csv)


def test_cli_log_json_and_exit_codes(data_csv, tmp_path) -> None:
    kb = str(tmp_path / "kb.duckdb")
    runs_csv = write_csv(tmp_path / "runs.csv", GOOD_ROWS)
    result = CliRunner().invoke(
        app, ["log", runs_csv, "--dataset", data_csv, "--target", "y", "--kb", kb, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 3

    bad_csv = write_csv(tmp_path / "bad.csv", _rows_with_problems())
    result = CliRunner().invoke(app, ["log", bad_csv, "--dataset", data_csv, "--kb", kb])
    assert result.exit_code == 2
    assert "row 2, column 'learning_rate', value 'abc'" in result.stderr
    result = CliRunner().invoke(
        app, ["log", bad_csv, "--dataset", data_csv, "--kb", kb, "--skip-invalid", "--json"]
    )
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["invalid"]) == len(BAD_ROWS)


def test_recommender_log_runs_imports_the_example_runs_file_once(tmp_path) -> None:
    from recommender.api import Recommender

    examples = Path(__file__).resolve().parents[3] / "examples"
    rec = Recommender(kb=tmp_path / "kb.duckdb")
    first = rec.log_runs(examples / "wine_runs.csv", dataset=examples / "wine.csv",
                         target="cultivar")
    again = rec.log_runs(examples / "wine_runs.csv", dataset=examples / "wine.csv",
                         target="cultivar")
    assert (first.imported, again.imported, again.already_stored) == (4, 0, 4)
    assert len(rec.kb.runs(source="log")) == 4


def test_an_empty_hyperparameter_cell_refuses_its_row_unless_defaults_are_asked(
    data_csv, tmp_path
) -> None:
    kb = str(tmp_path / "kb.duckdb")
    rows = [
        {"optimizer": "adam", "learning_rate": "0.01", "metric": "log_loss", "value": "0.3"},
        {"optimizer": "adam", "learning_rate": "", "metric": "log_loss", "value": "0.4"},
        # momentum does not apply to adam: its empty cell is no loss of information
        {"optimizer": "sgd", "learning_rate": "0.1", "momentum": "0.9", "metric": "log_loss",
         "value": "0.5"},
    ]
    runs_csv = write_csv(tmp_path / "runs.csv", rows)
    args = ["log", runs_csv, "--dataset", data_csv, "--target", "y", "--kb", kb]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "1 of 3 rows" in refused.stderr
    assert "row 2, column 'learning_rate', value '': learning_rate is empty" in refused.stderr
    assert "--fill-defaults" in refused.stderr
    assert KnowledgeBase(kb).runs(source="log").empty  # nothing imported

    filled = CliRunner().invoke(app, [*args, "--fill-defaults", "--json"])
    assert filled.exit_code == 0, filled.output
    assert json.loads(filled.stdout)["imported"] == 3
    stored = KnowledgeBase(kb).runs(source="log").sort_values("value")
    assert list(stored["learning_rate"]) == [0.01, 0.001, 0.1]  # 0.001: TrainConfig's default
    assert pd.isna(stored["momentum"].iloc[0])  # adam's momentum stays empty


def test_a_stop_reason_column_is_stored_and_checked_against_the_status(data_csv, tmp_path) -> None:
    rows = [{**row, "stop_reason": reason}
            for row, reason in zip(GOOD_ROWS, ("patience", "", "diverged"), strict=True)]
    kb = KnowledgeBase(":memory:")
    report = import_runs(kb, write_csv(tmp_path / "runs.csv", rows), dataset=data_csv, target="y")
    runs = kb.runs(dataset_id=report.dataset_id)
    assert sorted(runs["stop_reason"].fillna("unknown")) == ["diverged", "patience", "unknown"]
    # The column describes the runs, it does not make them new ones.
    again = import_runs(kb, write_csv(tmp_path / "old.csv", GOOD_ROWS), dataset=data_csv,
                        target="y")
    assert (again.imported, again.already_stored) == (0, 3)

    wrong = [{**GOOD_ROWS[0], "stop_reason": "pruned"}, {**GOOD_ROWS[2], "stop_reason": "nope"}]
    with pytest.raises(InputError) as error:
        import_runs(kb, write_csv(tmp_path / "bad.csv", wrong), dataset=data_csv, target="y")
    assert "row 1, column 'stop_reason', value 'pruned'" in str(error.value)
    assert "max_epochs, patience, converged" in str(error.value)
    assert "row 2, column 'stop_reason', value 'nope'" in str(error.value)
    assert "status diverged stopped for one of diverged" in str(error.value)
