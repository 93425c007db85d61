"""MLflow in and out against real tracking stores: a SQLite backend (no server) made with real
MLflow client calls, real `tune` studies exported to it, and a local `mlflow server` when one
starts in time."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender.api import Recommender
from recommender.cli import app

mlflow = pytest.importorskip("mlflow", reason="MLflow tests need the mlflow extra (in dev)")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "tests" / "recommender" / "data" / "tiny_space.toml"
WINE = ROOT / "examples" / "wine.csv"
DIABETES = ROOT / "examples" / "diabetes.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite tracking store for the module (creating its schema takes seconds)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    return uri


def _run(client: MlflowClient, experiment_id: str, *, status: str = "FINISHED",
         params: dict | None = None, history: dict | None = None, tags: dict | None = None,
         ) -> str:
    """A real MLflow run: params, per-step metric histories, tags and a final status."""
    run_id = client.create_run(experiment_id, tags=tags or {}).info.run_id
    metrics = [Metric(key, value, 1_000 + step, step)
               for key, values in (history or {}).items() for step, value in enumerate(values)]
    client.log_batch(run_id, metrics=metrics,
                     params=[Param(k, str(v)) for k, v in (params or {}).items()])
    if status != "RUNNING":
        client.set_terminated(run_id, status=status)
    return run_id


def _experiment(uri: str, name: str) -> tuple[MlflowClient, str]:
    client = MlflowClient(uri)
    return client, client.create_experiment(name)


def test_tune_trials_go_to_mlflow_and_come_back_as_the_same_runs(store: str) -> None:
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    result = rec.tune(WINE, budget=3, seed=1, pruner=None, mlflow=store,
                      mlflow_experiment="round-trip")

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("round-trip")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3
    assert {r.data.tags["hpo_recommend.study_id"] for r in runs} == {result.study_id}
    best = [r for r in runs if r.data.tags.get("hpo_recommend.best") == "true"]
    assert [r.data.tags["hpo_recommend.run_id"] for r in best] == [result.best_run_id]
    one = runs[0]
    trial = rec.kb.get_run(one.data.tags["hpo_recommend.run_id"])
    assert one.info.status == "FINISHED" and one.data.params["optimizer"] == trial.config[
        "optimizer"]
    assert one.data.metrics["log_loss"] == pytest.approx(trial.value)
    assert {*trial.metrics, "val_log_loss", "train_loss", "val_loss", "lr"} <= set(
        one.data.metrics)
    history = client.get_metric_history(one.info.run_id, "val_log_loss")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [
        p.epoch for p in trial.curve]

    fresh = Recommender(kb=KnowledgeBase(":memory:"))
    report = fresh.log_runs(from_mlflow=store, experiment="round-trip", dataset=WINE)
    assert (report.rows, report.imported, report.invalid) == (3, 3, ())
    for run in runs:
        original = rec.kb.get_run(run.data.tags["hpo_recommend.run_id"])
        back = fresh.kb.get_run(original.id)
        assert {k: v for k, v in back.config.items() if k != "mlflow_run_id"} == dict(
            original.config)
        assert back.config["mlflow_run_id"] == run.info.run_id
        same = ("status", "objective", "direction", "value", "metrics", "curve", "best_epoch",
                "epochs_run", "dataset_id", "stop_reason")
        assert original.stop_reason in ("max_epochs", "patience")
        assert {f: getattr(back, f) for f in same} == {f: getattr(original, f) for f in same}
        assert back.wall_seconds == pytest.approx(original.wall_seconds, abs=2e-3)
    again = fresh.log_runs(from_mlflow=store, experiment="round-trip", dataset=WINE)
    assert (again.imported, again.already_stored) == (0, 3)
    home = rec.log_runs(from_mlflow=store, experiment="round-trip", dataset=WINE)
    assert (home.imported, home.already_stored) == (0, 3)  # the KB they came from has them


def test_import_maps_params_metrics_histories_and_statuses(store: str) -> None:
    client, experiment = _experiment(store, "team-runs")
    params = {"lr": 0.01, "batch_size": 64, "epochs": 10, "optimizer": "Adam", "seed": 7,
              "augment": "mixup"}
    history = {"val_acc": [0.5, 0.8, 0.7], "loss": [0.9, 0.6, 0.5]}
    done = _run(client, experiment, params=params, history=history)
    failed = _run(client, experiment, status="FAILED", params={"lr": 3.0})
    stopped = _run(client, experiment, status="KILLED", params={"lr": 0.1},
                   history={"val_acc": [0.4, 0.45]})
    killed = _run(client, experiment, status="KILLED", params={"lr": 0.2})
    _run(client, experiment, status="RUNNING", params={"lr": 0.3})  # not finished: left out

    kb = KnowledgeBase(":memory:")
    report = Recommender(kb=kb).log_runs(
        from_mlflow=store, experiment="team-runs", dataset=WINE, metric="val_acc",
        name_map={"val_acc": "accuracy"})
    assert (report.rows, report.imported) == (4, 4)
    by_mlflow_id = {kb.get_run(i).config["mlflow_run_id"]: kb.get_run(i) for i in kb.runs()["id"]}
    run = by_mlflow_id[done]
    assert {k: run.config[k] for k in ("learning_rate", "batch_size", "max_epochs", "optimizer",
                                       "augment")} == {
        "learning_rate": 0.01, "batch_size": 64, "max_epochs": 10, "optimizer": "adam",
        "augment": "mixup"}
    assert (run.seed, run.objective, run.direction, run.value) == (7, "accuracy", "maximize", 0.7)
    assert [p.val_metric for p in run.curve] == [0.5, 0.8, 0.7]
    assert [p.train_loss for p in run.curve] == [0.9, 0.6, 0.5]
    assert math.isnan(run.curve[0].val_loss)
    assert (run.best_epoch, run.epochs_run, run.source) == (2, 3, "log")
    assert {i: by_mlflow_id[i].status for i in (done, failed, stopped, killed)} == {
        done: "ok", failed: "failed", stopped: "pruned", killed: "failed"}
    assert by_mlflow_id[stopped].value == 0.45

    again = Recommender(kb=kb).log_runs(from_mlflow=store, experiment="team-runs", dataset=WINE,
                                        metric="val_acc", name_map={"val_acc": "accuracy"})
    assert (again.imported, again.already_stored) == (0, 4)


def test_every_bad_run_is_reported_by_its_mlflow_id_and_nothing_is_stored(store: str) -> None:
    client, experiment = _experiment(store, "bad-runs")
    good = _run(client, experiment, params={"lr": 0.01}, history={"log_loss": [0.6, 0.5]})
    bad_lr = _run(client, experiment, params={"lr": "abc"}, history={"log_loss": [0.6, 0.5]})
    no_score = _run(client, experiment, params={"optimizer": "foo"})
    kb = KnowledgeBase(":memory:")
    with pytest.raises(InputError) as caught:
        Recommender(kb=kb).log_runs(from_mlflow=store, experiment="bad-runs", dataset=WINE)
    message = str(caught.value)
    assert "2 of 3 rows in MLflow experiment 'bad-runs'" in message
    assert f"row 2 (MLflow run {bad_lr}), column 'learning_rate', value 'abc'" in message
    assert f"row 3 (MLflow run {no_score}), column 'optimizer', value 'foo'" in message
    assert f"row 3 (MLflow run {no_score}), column 'value', value None: a score is required" in (
        message)
    assert kb.stats()["runs"] == 0 and kb.stats()["datasets"] == 0

    report = Recommender(kb=kb).log_runs(from_mlflow=store, experiment="bad-runs", dataset=WINE,
                                         skip_invalid=True)
    assert report.imported == 1 and kb.get_run(kb.runs()["id"].item()).config[
        "mlflow_run_id"] == good
    assert {p.label for p in report.invalid} == {f"MLflow run {bad_lr}", f"MLflow run {no_score}"}

    client, experiment = _experiment(store, "still-running")
    _run(client, experiment, status="RUNNING", params={"lr": 0.01})
    with pytest.raises(InputError, match="'still-running' .* has no finished runs"):
        Recommender(kb=kb).log_runs(from_mlflow=store, experiment="still-running", dataset=WINE)


def test_dataset_tag_splits_one_experiment_over_several_datasets(store: str) -> None:
    client, experiment = _experiment(store, "many-datasets")
    _run(client, experiment, params={"lr": 0.01}, tags={"data": "wine"},
         history={"log_loss": [0.5, 0.4]})
    _run(client, experiment, params={"lr": 0.02}, tags={"data": "diabetes.csv"},
         history={"r2": [0.2, 0.3]})
    stray = _run(client, experiment, params={"lr": 0.03}, tags={"data": "iris"},
                 history={"r2": [0.1, 0.2]})
    kb = KnowledgeBase(":memory:")
    rec = Recommender(kb=kb)
    with pytest.raises(InputError, match=rf"MLflow run {stray}\), column 'data', value 'iris': "
                                         r"names none of the datasets given"):
        rec.log_runs(from_mlflow=store, experiment="many-datasets", dataset=[WINE, DIABETES],
                     dataset_tag="data")
    report = rec.log_runs(from_mlflow=store, experiment="many-datasets",
                          dataset=[WINE, DIABETES], dataset_tag="data", skip_invalid=True)
    assert (report.imported, len(report.dataset_ids), len(report.invalid)) == (2, 2, 1)
    tasks = {kb.get_dataset(i).task: kb.runs(dataset_id=i)["objective"].tolist()
             for i in report.dataset_ids}
    assert tasks == {"multiclass": ["log_loss"], "regression": ["r2"]}
    with pytest.raises(InputError, match="need --dataset-tag"):
        rec.log_runs(from_mlflow=store, experiment="many-datasets", dataset=[WINE, DIABETES])


def test_cli_log_from_mlflow_json_and_user_errors(store: str, tmp_path: Path) -> None:
    client, experiment = _experiment(store, "cli-runs")
    _run(client, experiment, params={"eta": 0.05, "optimizer": "sgd"},
         history={"val_accuracy": [0.6, 0.9]})
    kb = str(tmp_path / "kb.duckdb")
    base = ["log", "--from-mlflow", store, "--kb", kb, "--dataset", str(WINE)]
    result = runner.invoke(app, [*base, "--experiment", "cli-runs", "--metric", "val_accuracy",
                                 "--map", "val_accuracy=accuracy", "--map",
                                 "eta=learning_rate", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["imported"], payload["invalid"]) == (1, [])
    stored = KnowledgeBase(kb).runs(source="log")
    assert (stored["learning_rate"].item(), stored["objective"].item()) == (0.05, "accuracy")

    for args, expected in [
        (["--experiment", "nope"], "no MLflow experiment 'nope'"),
        (["--experiment", "cli-runs", "--map", "eta"], "--map must look like"),
        (["--experiment", "cli-runs", "--map", "eta=speed"], "'speed' is not a hyperparameter"),
        (["--experiment", "cli-runs", "--metric", "val_accuracy"], "give --direction"),
    ]:
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2, result.output
        assert expected in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["log", "--experiment", "x", "--dataset", str(WINE), "--kb", kb])
    assert result.exit_code == 2 and "go with --from-mlflow" in result.stderr
    result = runner.invoke(app, ["log", "--from-mlflow", "nosuch://x", "--experiment", "x",
                                 "--dataset", str(WINE), "--kb", kb])
    assert result.exit_code == 2 and "cannot open MLflow tracking store" in result.stderr


def test_cli_tune_mlflow_logs_each_trial_and_keeps_json_on_stdout(
    store: str, tmp_path: Path
) -> None:
    kb = str(tmp_path / "kb.duckdb")
    base = ["tune", str(WINE), "--space", str(SPACE), "--budget", "1", "--pruner", "none",
            "--kb", kb]
    result = runner.invoke(app, [*base, "--mlflow", store, "--mlflow-experiment", "cli-tune",
                                 "--json"])
    assert result.exit_code == 0, result.output
    trial = json.loads(result.stdout)["trials"][0]
    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("cli-tune").experiment_id])
    assert [r.data.tags["hpo_recommend.run_id"] for r in runs] == [trial["id"]]
    assert runs[0].data.tags["hpo_recommend.best"] == "true"

    result = runner.invoke(app, [*base, "--mlflow-experiment", "cli-tune"])
    assert result.exit_code == 2 and "goes with mlflow=URI (--mlflow)" in result.stderr


def test_a_tracker_that_is_down_gives_one_warning_and_the_study_goes_on() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = rec.tune(WINE, budget=2, seed=0, pruner=None,
                          mlflow=f"http://127.0.0.1:{port}")
    ours = [w for w in caught if "MLflow" in str(w.message)]
    assert len(ours) == 1 and "the study goes on without it" in str(ours[0].message)
    assert result.status == "finished" and len(rec.kb.runs()) == 2
    assert time.perf_counter() - started < 120  # no retry storm: the probe fails at once


def test_without_mlflow_the_error_says_which_extra_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.delitem(sys.modules, "recommender.integrations.mlflow", raising=False)
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with pytest.raises(InputError, match=r"hpo-recommend\[mlflow\]"):
        rec.tune(WINE, budget=1, mlflow="sqlite:///never.db")
    with pytest.raises(InputError, match=r"hpo-recommend\[mlflow\]"):
        rec.log_runs(from_mlflow="sqlite:///never.db", experiment="x", dataset=WINE)


SERVER_START_SECONDS = 60.0  # it took 70-90 s on two cores shared with other test runs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - the server's URI
    """A real `mlflow server` on 127.0.0.1, or a skip when it cannot start in time."""
    pytest.importorskip("flask", reason="`mlflow server` needs the full mlflow package")
    folder = tmp_path_factory.mktemp("mlflow-server")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
               str(port), "--workers", "1", "--backend-store-uri",
               f"sqlite:///{folder / 'server.db'}", "--default-artifact-root",
               str(folder / "artifacts")]
    log = open(folder / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"},
                               start_new_session=True)  # its workers share its group
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    import requests

    try:
        while True:
            try:
                if requests.get(f"{uri}/health", timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or not answering yet
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"mlflow server did not answer on {uri} within "
                            f"{SERVER_START_SECONDS:g} s (log: {folder / 'server.log'})")
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_cli_tune_logs_to_a_local_mlflow_server_and_log_imports_it_back(
    server: str, tmp_path: Path
) -> None:
    kb = str(tmp_path / "kb.duckdb")
    result = runner.invoke(app, ["tune", str(WINE), "--space", str(SPACE), "--budget", "2",
                                 "--pruner", "none", "--kb", kb, "--mlflow", server,
                                 "--mlflow-experiment", "served", "--json"])
    assert result.exit_code == 0, result.output
    study = json.loads(result.stdout)
    runs = MlflowClient(server).search_runs(
        [MlflowClient(server).get_experiment_by_name("served").experiment_id])
    assert sorted(r.data.tags["hpo_recommend.run_id"] for r in runs) == sorted(
        t["id"] for t in study["trials"])

    fresh = str(tmp_path / "fresh.duckdb")
    result = runner.invoke(app, ["log", "--from-mlflow", server, "--experiment", "served",
                                 "--dataset", str(WINE), "--kb", fresh, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 2
    imported = KnowledgeBase(fresh).runs(source="log")["id"]
    assert sorted(imported) == sorted(t["id"] for t in study["trials"])
