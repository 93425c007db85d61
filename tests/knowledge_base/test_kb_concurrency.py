"""Several writer processes, writers killed at random moments, damaged files: no run lost,
doubled or torn, and damage is named."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import time

import pytest
from kb_factories import dataset, log_concurrently, log_forever, log_one_by_one, run
from typer.testing import CliRunner

from hpo_common import DamagedKnowledgeBaseError
from knowledge_base import KnowledgeBase
from recommender.cli import app

WORKERS, SINGLE, BATCHES, BATCH = 4, 10, 5, 38  # 10 + 5 * 38 = 200 runs per worker
runner = CliRunner()


def _start(target, *args) -> mp.Process:  # noqa: ANN001
    proc = mp.get_context("spawn").Process(target=target, args=args)
    proc.start()
    return proc


def _assert_whole(kb: KnowledgeBase, epochs: int) -> int:
    """Every stored run is unique and has its whole curve; return how many there are."""
    runs = kb.runs(columns=["id"])
    assert runs["id"].is_unique
    counts = kb.curves(runs["id"]).groupby("run_id").size()
    assert len(counts) == len(runs)
    assert (counts == epochs).all()
    return len(runs)


def test_four_processes_log_every_run_exactly_once(tmp_path) -> None:
    path = str(tmp_path / "kb.duckdb")
    KnowledgeBase(path).add_dataset(dataset(0))
    procs = [_start(log_concurrently, path, w, SINGLE, BATCHES, BATCH) for w in range(WORKERS)]
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    assert _assert_whole(KnowledgeBase(path), epochs=3) == WORKERS * (SINGLE + BATCHES * BATCH)


def test_four_processes_one_transaction_per_run_store_every_run_once(tmp_path) -> None:
    """The pattern that lost runs when DuckDB read the file's headers before its own lock."""
    path, n = str(tmp_path / "kb.duckdb"), 100
    KnowledgeBase(path).add_dataset(dataset(0))
    procs = [_start(log_one_by_one, path, w, n) for w in range(WORKERS)]
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * WORKERS  # no writer died of an IO error
    kb = KnowledgeBase(path)
    assert _assert_whole(kb, epochs=5) == WORKERS * n
    per_writer = kb.runs(columns=["seed"])["seed"].value_counts().to_dict()
    assert per_writer == {w: n for w in range(WORKERS)}


def test_writers_killed_at_random_moments_leave_only_whole_batches(tmp_path) -> None:
    path, batch, epochs = str(tmp_path / "kb.duckdb"), 300, 5
    kb = KnowledgeBase(path)
    kb.add_dataset(dataset(0))
    rng = random.Random(0)
    for kill in range(3):
        before = kb.stats()["runs"]
        proc = _start(log_forever, path, batch, epochs, f"k{kill}-")
        deadline = time.monotonic() + 60
        while kb.stats()["runs"] < before + batch and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.2))  # somewhere inside a later batch, or between two
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL
        stored = _assert_whole(KnowledgeBase(path), epochs)
        assert stored > before and stored % batch == 0
    kb.log_run(run("fp0", 0.3, run_id="after-the-kills"))  # the file still takes writes
    assert kb.get_run("after-the-kills").value == 0.3


def _damaged_copy(src: str, dst: str) -> None:
    """A copy of a knowledge base with its second half cut off (a torn copy or a full disk)."""
    shutil.copy(src, dst)
    with open(dst, "r+b") as handle:
        handle.truncate(os.path.getsize(src) // 2)


@pytest.fixture(scope="module")
def truncated(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("damaged")
    healthy = str(folder / "healthy.duckdb")
    kb = KnowledgeBase(healthy)
    kb.add_dataset(dataset(0))
    kb.log_runs([run("fp0", i / 1000, epochs=20, run_id=f"r{i}") for i in range(3000)])
    _damaged_copy(healthy, str(folder / "cut.duckdb"))
    return str(folder / "cut.duckdb")


@pytest.mark.parametrize(
    "argv",
    [["kb", "migrate"], ["kb", "check"], ["kb", "runs", "--limit", "5000"], ["kb", "export", "x"]],
)
def test_a_truncated_file_is_named_damaged_and_no_command_reports_success(
    truncated: str, tmp_path, argv: list[str]
) -> None:
    before = os.path.getsize(truncated)
    argv = [str(tmp_path / "out") if arg == "x" else arg for arg in argv]
    result = runner.invoke(app, [*argv, "--kb", truncated], catch_exceptions=False)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: knowledge base")
    assert "is damaged" in lines[0] and "kb salvage" in lines[0] and "kb export" in lines[0]
    assert "Traceback" not in result.output
    assert os.path.getsize(truncated) == before


def test_salvage_copies_every_readable_row_into_a_new_file(truncated: str, tmp_path) -> None:
    with pytest.raises(DamagedKnowledgeBaseError):
        KnowledgeBase(truncated).verify()
    new = str(tmp_path / "new.duckdb")
    result = runner.invoke(app, ["kb", "salvage", truncated, new, "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["datasets"] == {"copied": 1, "lost": 0}
    assert counts["runs"]["copied"] + counts["runs"]["lost"] == 3000
    salvaged = KnowledgeBase(new)
    assert salvaged.verify()["runs"] == counts["runs"]["copied"]
    if counts["runs"]["copied"]:
        _assert_whole(salvaged, epochs=20)
