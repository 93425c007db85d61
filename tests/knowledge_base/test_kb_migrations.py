"""Opening files of other schema versions, and files that are not knowledge bases."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from kb_factories import run

from hpo_common.errors import InputError, NotFoundError, SchemaVersionError
from knowledge_base import LATEST_VERSION, DatasetRecord, KnowledgeBase

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kb_v1.duckdb"


@pytest.fixture
def v1_copy(tmp_path) -> Path:
    path = tmp_path / "old.duckdb"
    shutil.copy(FIXTURE, path)
    return path


def test_a_version_1_file_is_migrated_on_open_and_keeps_its_rows(v1_copy) -> None:
    kb = KnowledgeBase(v1_copy)
    assert (kb.migrated_from, kb.schema_version) == (1, LATEST_VERSION)
    assert list(kb.runs()["id"]) == ["run-1", "run-2", "run-3"]
    assert kb.get_run("run-1").curve[-1].epoch == 3
    assert kb.get_dataset("fp-iris").target is None  # column added by migration 2
    assert kb.get_study("study-1").objective is None
    assert kb.meta_features().loc["fp-iris", "n_rows"] == 150
    assert kb.best_runs()["id"].tolist() == ["run-1"]
    # Migration 3: older runs read back with the recipe values they trained with.
    old = kb.get_run("run-1").config
    assert (old["numeric_preprocessing"], old["target_transform"], old["categorical"]) == (
        "standard",
        "standard",
        "onehot",
    )
    assert (old["num_embedding"], old["embedding_dim"], old["label_smoothing"]) == ("none", 8, 0)
    assert old["ensemble_size"] == 1
    assert kb.get_run("run-1").stop_reason is None  # migration 4: not known for older runs

    # The new columns are usable, and a second open has nothing left to migrate.
    kb.add_dataset(DatasetRecord("fp-new", "new", "binary", 10, 2, 2, target="y"))
    kb.log_run(run("fp-new"))
    again = KnowledgeBase(v1_copy)
    assert again.migrated_from == LATEST_VERSION
    assert again.get_dataset("fp-new").target == "y"
    with duckdb.connect(str(v1_copy)) as con:
        versions = con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    assert versions == [(v,) for v in range(1, LATEST_VERSION + 1)]


def test_a_file_from_a_newer_version_says_to_upgrade(tmp_path) -> None:
    path = tmp_path / "new.duckdb"
    KnowledgeBase(path)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (99, 'future', now())")
    with pytest.raises(SchemaVersionError, match="newer hpo-recommend.*99.*upgrade"):
        KnowledgeBase(path)


def test_a_text_file_is_not_a_knowledge_base(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n")
    with pytest.raises(SchemaVersionError, match="not a knowledge base"):
        KnowledgeBase(path)
    assert path.read_text() == "not a database\n"


def test_a_foreign_duckdb_file_is_left_alone(tmp_path) -> None:
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE sales (amount INTEGER)")
    with pytest.raises(SchemaVersionError, match="not an hpo-recommend knowledge base.*sales"):
        KnowledgeBase(path)


def test_bad_paths_are_input_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        KnowledgeBase(tmp_path)
    with pytest.raises(InputError, match="no folder"):
        KnowledgeBase(tmp_path / "missing" / "kb.duckdb")
    with pytest.raises(NotFoundError, match="no knowledge base"):
        KnowledgeBase(tmp_path / "absent.duckdb", create=False)
