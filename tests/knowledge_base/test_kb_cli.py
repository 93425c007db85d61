"""`hpo-recommend kb ...` in-process: exit codes and parsed JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kb_factories import dataset, run
from typer.testing import CliRunner

from knowledge_base import LATEST_VERSION, KnowledgeBase
from recommender.cli import app

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kb_v1.duckdb"


def invoke(*args: str):
    return CliRunner().invoke(app, ["kb", *args])


def as_json(*args: str):
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def kb_path(tmp_path) -> str:
    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    kb.add_dataset(dataset(0))
    kb.log_runs([run("fp0", 0.1, run_id="a"), run("fp0", 0.9, status="pruned", run_id="b")])
    return str(kb.path)


def test_stats_datasets_and_runs(kb_path) -> None:
    stats = as_json("stats", "--kb", kb_path)
    assert (stats["runs"], stats["runs_by_status"]) == (2, {"ok": 1, "pruned": 1})
    assert as_json("datasets", "--kb", kb_path)[0]["n_runs"] == 2
    runs = as_json("runs", "--kb", kb_path, "--dataset", "fp0", "--status", "pruned")
    assert [r["id"] for r in runs] == ["b"]
    assert len(as_json("runs", "--kb", kb_path, "--limit", "1")) == 1
    for command, shown in (("stats", "runs_by_status"), ("datasets", "data0"), ("runs", "2 runs")):
        result = invoke(command, "--kb", kb_path)
        assert result.exit_code == 0 and shown in result.stdout


def test_export_import_merge_round_trip(kb_path, tmp_path) -> None:
    folder = str(tmp_path / "export")
    assert as_json("export", folder, "--kb", kb_path)["runs"] == 2
    other = str(tmp_path / "other.duckdb")
    assert as_json("import", folder, "--kb", other)["runs"] == 2
    assert as_json("import", folder, "--kb", other)["runs"] == 0
    third = str(tmp_path / "third.duckdb")
    assert as_json("merge", other, "--kb", third)["runs"] == 2
    assert as_json("merge", other, "--kb", third)["runs"] == 0
    assert invoke("merge", other, "--kb", third).exit_code == 0


def test_migrate_a_version_1_file(tmp_path) -> None:
    path = tmp_path / "old.duckdb"
    shutil.copy(FIXTURE, path)
    result = as_json("migrate", "--kb", str(path))
    assert (result["from_version"], result["to_version"]) == (1, LATEST_VERSION)
    assert as_json("migrate", "--kb", str(path))["from_version"] == LATEST_VERSION
    assert "already at schema version" in invoke("migrate", "--kb", str(path)).stderr


@pytest.mark.parametrize(
    "args",
    [
        ("stats", "--kb", "{tmp}/absent.duckdb"),
        ("stats", "--kb", "{tmp}"),
        ("stats", "--kb", "{tmp}/notes.txt"),
        ("runs", "--kb", "{kb}", "--status", "done"),
        ("import", "{tmp}/no-such-dir", "--kb", "{kb}"),
        ("merge", "{tmp}/absent.duckdb", "--kb", "{kb}"),
        ("export", "{tmp}/notes.txt", "--kb", "{kb}"),
    ],
)
def test_bad_paths_and_values_give_one_line_and_exit_2(args, kb_path, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    result = invoke(*(a.format(tmp=tmp_path, kb=kb_path) for a in args))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
