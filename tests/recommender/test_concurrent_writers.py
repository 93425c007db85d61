"""Two processes driving searches into one knowledge base at once: every trial stored once.

Real processes, real training and a real file: two `hpo-recommend tune` commands, and two
Optuna studies with `RecommenderSampler(log_to_kb=True)`, start together on one KB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from study_factory import WINE

from knowledge_base import KnowledgeBase

BUDGET = 3


def _run_together(commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for cmd in commands
    ]
    results = []
    for cmd, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return results


def _assert_every_trial_stored_once(kb: KnowledgeBase, n_studies: int) -> None:
    studies = kb.studies()
    assert len(studies) == n_studies
    runs = kb.runs(study_id=list(studies["id"]), columns=["id", "study_id", "epochs_run"])
    assert runs["id"].is_unique
    assert runs.groupby("study_id").size().tolist() == [BUDGET] * n_studies
    points = kb.curves(runs["id"]).groupby("run_id").size().reindex(runs["id"], fill_value=0)
    assert (points.to_numpy() == runs["epochs_run"].to_numpy()).all()  # no torn curve


def test_two_tune_commands_on_one_kb_store_every_trial_once(tmp_path: Path) -> None:
    kb_path = tmp_path / "kb.duckdb"
    KnowledgeBase(kb_path)  # an empty KB: no seed import, no surrogate to fit in each process
    tune = [
        sys.executable, "-c", "from recommender.cli import main; main()",
        "tune", str(WINE), "--target", "cultivar", "--budget", str(BUDGET), "--max-epochs", "3",
        "--kb", str(kb_path), "--json",
    ]
    results = _run_together([[*tune, "--seed", str(seed)] for seed in (0, 1)])
    for result in results:
        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)["trials"]) == BUDGET
    _assert_every_trial_stored_once(KnowledgeBase(kb_path), n_studies=2)


_SAMPLER_STUDY = """
import sys, optuna
from recommender.integrations.optuna import RecommenderSampler
from training import TrainConfig, load_table, prepare, train
optuna.logging.set_verbosity(optuna.logging.WARNING)
kb, data_file, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = prepare(load_table(data_file, target="cultivar"), seed=seed)
sampler = RecommenderSampler(kb=kb, dataset=data_file, target="cultivar", warm_start=1,
                             seed=seed, log_to_kb=True)
def objective(trial):
    config = TrainConfig(
        learning_rate=trial.suggest_float("learning_rate", 1e-4, 0.1, log=True),
        batch_size=trial.suggest_categorical("batch_size", [32, 64]), max_epochs=3)
    return train(config, data).value
study = optuna.create_study(sampler=sampler)
study.optimize(objective, n_trials=BUDGET)
sampler.finish()
""".replace("BUDGET", str(BUDGET))


def test_two_optuna_samplers_logging_to_one_kb_store_every_trial_once(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    kb_path = tmp_path / "kb.duckdb"
    KnowledgeBase(kb_path)
    script = tmp_path / "study.py"
    script.write_text(_SAMPLER_STUDY)
    results = _run_together(
        [[sys.executable, str(script), str(kb_path), str(WINE), str(seed)] for seed in (0, 1)]
    )
    for result in results:
        assert result.returncode == 0, result.stderr
    _assert_every_trial_stored_once(KnowledgeBase(kb_path), n_studies=2)
