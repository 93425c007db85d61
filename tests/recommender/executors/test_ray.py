"""The Ray executor on a real local Ray cluster: a short study, and a worker that dies."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge_base import KnowledgeBase
from recommender.cli import app
from recommender.executors import RayExecutor, RayOptions
from training import TrainConfig, load_table, prepare, train_many

WINE = Path(__file__).resolve().parents[3] / "examples" / "wine.csv"

ray = pytest.importorskip("ray")
runner = CliRunner()
SPACE = Path(__file__).parents[1] / "data" / "tiny_space.toml"


@pytest.fixture(scope="module")
def local_cluster():  # noqa: ANN201
    """One local Ray instance (2 CPUs) for the module; executors join it, never stop it."""
    # Ray's workers cannot import this test module: its callbacks travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _die(epoch: int, value: float) -> bool:
    os._exit(1)  # the worker process dies mid-trial, as after a segfault or an OOM kill


def test_short_study_on_ray_logs_every_trial(local_cluster, tmp_path: Path) -> None:
    kb_file = tmp_path / "kb.duckdb"
    result = runner.invoke(app, [
        "tune", str(WINE), "--target", "cultivar", "--budget", "3", "--max-epochs", "2",
        "--pruner", "none", "--space", str(SPACE), "--executor", "ray", "--cpus-per-trial", "1",
        "--kb", str(kb_file), "--json",
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "finished" and summary["counts"]["ok"] == 3
    runs = KnowledgeBase(kb_file).runs(study_id=summary["study_id"])
    assert len(runs) == 3 and set(runs["device"]) == {"cpu"}
    assert ray.is_initialized()  # the executor joined the cluster; it does not stop it


def test_ray_options_need_the_ray_executor(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tune", str(WINE), "--address", "auto",
                                 "--kb", str(tmp_path / "kb.duckdb")])
    assert result.exit_code == 2 and "go with --executor ray" in result.output


def test_dead_worker_fails_its_trial_and_the_executor_goes_on(local_cluster) -> None:
    data = prepare(load_table(WINE, target="cultivar"))
    executor = RayExecutor(data, RayOptions(cpus_per_trial=1))
    assert executor.capacity == 2  # two 1-CPU trials fit the 2-CPU cluster
    config = TrainConfig(max_epochs=2, width=16)
    dead = executor.submit(config, _die)
    with pytest.raises((ray.exceptions.WorkerCrashedError, ray.exceptions.RayTaskError)):
        dead.result(timeout=120)
    alive = executor.submit(config).result(timeout=120)
    assert alive.status == "ok" and alive.epochs_run == 2
    executor.close()


def _prune_at_two(epoch: int, value: float) -> bool:
    return epoch >= 2


def test_a_batch_is_one_ray_task_trained_with_train_many(local_cluster) -> None:
    data = prepare(load_table(WINE, target="cultivar"))
    configs = [TrainConfig(max_epochs=3, patience=0, width=16, learning_rate=lr)
               for lr in (1e-3, 1e-2, 3e-2)]
    expected = train_many(configs, data, device="cpu", seed=3)
    executor = RayExecutor(data, RayOptions(cpus_per_trial=1), seed=3)
    try:
        futures = executor.submit_batch(configs, [None, _prune_at_two, None])
        results = [f.result(timeout=120) for f in futures]
        assert [r.status for r in results] == ["ok", "pruned", "ok"]
        assert [r.epochs_run for r in results] == [3, 2, 3]
        for got, want in zip((results[0], results[2]), (expected[0], expected[2]), strict=True):
            assert got.curve == want.curve and got.config == want.config
        dead = executor.submit_batch(configs, [None, _die, None])
        for future in dead:  # the batch's worker died: every member's future raises
            with pytest.raises((ray.exceptions.WorkerCrashedError, ray.exceptions.RayTaskError)):
                future.result(timeout=120)
        assert executor.submit(configs[0]).result(timeout=120).status == "ok"
    finally:
        executor.close()
