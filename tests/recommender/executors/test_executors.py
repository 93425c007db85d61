"""Local worker processes: a worker that dies takes only its own trial with it."""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from knowledge_base import DatasetRecord, KnowledgeBase
from recommender import open_study
from recommender.executors import EpochCallback, ProcessExecutor, SequentialExecutor
from recommender.space import load_space
from recommender.tune import run_study
from training import PreparedData, TrainConfig, TrainResult, load_table, prepare, train_many

ROOT = Path(__file__).resolve().parents[3]
WINE = ROOT / "examples" / "wine.csv"
SPACE = ROOT / "tests" / "recommender" / "data" / "tiny_space.toml"


def _die(epoch: int, value: float) -> bool:
    os._exit(1)  # the worker process dies mid-trial, as after a segfault or an OOM kill


def _slow(epoch: int, value: float) -> bool:
    time.sleep(0.3)  # keeps this trial running while the other worker dies
    return False


@pytest.fixture(scope="module")
def wine() -> PreparedData:
    return prepare(load_table(WINE, target="cultivar"))


def test_a_dead_worker_fails_only_its_own_trial_and_is_replaced(wine: PreparedData) -> None:
    executor = ProcessExecutor(wine, workers=2, device="cpu")
    config = TrainConfig(max_epochs=8, patience=0, width=16)
    try:
        survivor = executor.submit(config, _slow)
        dead = executor.submit(config, _die)
        with pytest.raises(BrokenProcessPool):
            dead.result(timeout=120)
        assert not survivor.done()  # still training in the other worker
        assert survivor.result(timeout=120).status == "ok"
        again = executor.submit(config).result(timeout=120)  # a fresh worker in the dead one's slot
        assert again.status == "ok" and again.epochs_run == 8
    finally:
        executor.close()


class _FirstTrialCrashes:
    """A real ProcessExecutor whose first trial's worker dies (the crash is real, only its
    timing is chosen)."""

    def __init__(self, inner: ProcessExecutor) -> None:
        self.inner, self.capacity, self.submitted = inner, inner.capacity, 0

    def submit(self, config: TrainConfig, callback: EpochCallback = None) -> Future[TrainResult]:
        self.submitted += 1
        return self.inner.submit(config, _die if self.submitted == 1 else callback)

    def close(self) -> None:
        self.inner.close()


def test_a_crashed_trial_is_logged_failed_and_the_study_goes_on(wine: PreparedData) -> None:
    kb = KnowledgeBase(":memory:")
    dataset = DatasetRecord("wine", "wine", "multiclass", 178, 13, 3)
    study = open_study(
        kb, load_space(SPACE), dataset, objective="log_loss", direction="minimize",
        strategy="random", budget=4,
    )
    executor = _FirstTrialCrashes(ProcessExecutor(wine, workers=2, device="cpu"))
    assert run_study(study, executor, budget=4) == "finished"
    runs = kb.runs(study_id=study.id)
    assert sorted(runs["status"]) == ["failed", "ok", "ok", "ok"]
    failed = runs[runs["status"] == "failed"].iloc[0]
    assert "BrokenProcessPool" in failed["error"]


def test_a_batch_trains_in_one_worker_and_a_dead_worker_fails_only_its_batch(
    wine: PreparedData,
) -> None:
    configs = [TrainConfig(max_epochs=3, patience=0, width=16, learning_rate=lr)
               for lr in (1e-3, 1e-2)]
    expected = train_many(configs, wine, device="cpu")
    executor = ProcessExecutor(wine, workers=2, device="cpu")
    try:
        good = executor.submit_batch(configs, [_slow, None])
        dead = executor.submit_batch(configs, [None, _die])
        for future in dead:
            with pytest.raises(BrokenProcessPool):
                future.result(timeout=120)
        results = [f.result(timeout=120) for f in good]
        assert [r.status for r in results] == ["ok", "ok"]
        for got, want in zip(results, expected, strict=True):
            assert got.value == pytest.approx(want.value, rel=1e-6)
        assert [r.config for r in results] == configs
    finally:
        executor.close()


def test_sequential_batches_are_train_many(wine: PreparedData) -> None:
    configs = [TrainConfig(max_epochs=2, width=w) for w in (8, 12)]
    futures = SequentialExecutor(wine, device="cpu", seed=2).submit_batch(configs, [None, None])
    expected = train_many(configs, wine, device="cpu", seed=2)
    assert [f.result().curve for f in futures] == [r.curve for r in expected]
