"""Several writer processes, and a writer killed mid-batch: no run lost, doubled or torn."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

from kb_factories import dataset, log_concurrently, log_forever

from knowledge_base import KnowledgeBase

WORKERS, SINGLE, BATCHES, BATCH = 4, 10, 5, 38  # 10 + 5 * 38 = 200 runs per worker


def test_four_processes_log_every_run_exactly_once(tmp_path) -> None:
    path = str(tmp_path / "kb.duckdb")
    KnowledgeBase(path).add_dataset(dataset(0))
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=log_concurrently, args=(path, w, SINGLE, BATCHES, BATCH))
        for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WORKERS

    kb = KnowledgeBase(path)
    runs = kb.runs(columns=["id"])
    assert len(runs) == WORKERS * (SINGLE + BATCHES * BATCH) == 800
    assert runs["id"].is_unique
    points = kb.curves(runs["id"]).groupby("run_id")["epoch"].apply(list)
    assert len(points) == 800
    assert all(epochs == [1, 2, 3] for epochs in points)


def test_writer_killed_mid_batch_leaves_only_whole_batches(tmp_path) -> None:
    path = str(tmp_path / "kb.duckdb")
    kb = KnowledgeBase(path)
    kb.add_dataset(dataset(0))
    batch, epochs = 400, 5
    proc = mp.get_context("spawn").Process(target=log_forever, args=(path, batch, epochs))
    proc.start()
    deadline = time.monotonic() + 60
    while kb.stats()["runs"] < 2 * batch and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.037)  # land somewhere inside a later batch's write
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL

    reopened = KnowledgeBase(path)
    runs = reopened.runs(columns=["id"])
    assert len(runs) >= 2 * batch
    assert len(runs) % batch == 0
    counts = reopened.curves(runs["id"]).groupby("run_id").size()
    assert len(counts) == len(runs)
    assert (counts == epochs).all()
