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
    assert "1 dataset\n" in invoke("datasets", "--kb", kb_path).stdout  # not "1 datasets"
    assert "1 run (--limit 1)" in invoke("runs", "--kb", kb_path, "--limit", "1").stdout


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


@pytest.fixture
def studies_kb(tmp_path) -> tuple[str, list[str]]:
    """Two studies on one dataset (ids "aaa1..." and "aaa2..."), the second with 3 runs."""
    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    kb.add_dataset(dataset(0))
    ids = ["aaa1" + "0" * 28, "aaa2" + "0" * 28]
    for study_id in ids:
        kb.start_study("fp0", "surrogate", objective="log_loss", direction="minimize",
                       study_id=study_id)
    kb.log_runs([run("fp0", v, study_id=ids[1], status=s)
                 for v, s in ((0.3, "ok"), (0.2, "ok"), (0.1, "pruned"))])
    kb.log_runs([run("fp0", 0.05)])  # a run outside any study
    return str(kb.path), ids


def test_studies_lists_trials_and_best_value(studies_kb) -> None:
    kb, ids = studies_kb
    studies = as_json("studies", "--kb", kb)
    assert [s["id"] for s in studies] == ids
    assert [(s["n_runs"], s["best_value"]) for s in studies] == [(0, None), (3, 0.2)]
    assert studies[1]["dataset_name"] == "data0"
    table = invoke("studies", "--kb", kb)
    assert table.exit_code == 0 and "aaa2" in table.stdout and "data0" in table.stdout


def test_runs_by_study_prefix_or_latest_show_the_study(studies_kb) -> None:
    kb, ids = studies_kb
    assert {r["study_id"] for r in as_json("runs", "--kb", kb, "--study", "aaa2")} == {ids[1]}
    assert len(as_json("runs", "--kb", kb, "--study", "latest")) == 3
    assert len(as_json("runs", "--kb", kb, "--dataset", "fp")) == 4  # a unique dataset prefix
    assert "study_id" in invoke("runs", "--kb", kb).stdout


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("runs", "--study", "aaa"), "matches 2 ids"),
        (("runs", "--study", "zzz"), "no study id starts with 'zzz'"),
        (("runs", "--dataset", "nosuch"), "no dataset id starts with 'nosuch'"),
        (("studies", "--dataset", "nosuch"), "no dataset id starts with 'nosuch'"),
    ],
)
def test_unknown_or_ambiguous_ids_exit_2(args, shown, studies_kb) -> None:
    kb, _ = studies_kb
    result = invoke(*args, "--kb", kb)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and shown in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
