"""`tune` end to end with real training on examples/wine.csv and a tiny space (4 epochs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender.space import load_space
from recommender.tune import TrialEvent, tune
from training import TrainConfig, group_key, load_table

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "tests" / "recommender" / "data" / "tiny_space.toml"
WINE = ROOT / "examples" / "wine.csv"


@pytest.fixture(scope="module")
def wine():
    return load_table(WINE)


def test_study_logs_every_trial_at_once_and_repeats_with_the_same_seed(wine, tmp_path):
    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    seen: list[int] = []

    def progress(event: TrialEvent) -> None:  # each trial is in the KB when reported
        seen.append(len(kb.runs()))

    first = tune(wine, kb, load_space(SPACE), budget=5, seed=3, pruner=None, progress=progress)
    assert seen == [1, 2, 3, 4, 5]
    assert len(kb.runs(study_id=first.study_id)) == 5 == len(first.trials)
    assert sum(first.counts.values()) == 5 and first.status == "finished"
    assert kb.get_study(first.study_id).status == "finished"
    assert first.best_value == first.trials.loc[first.trials["status"] == "ok", "value"].min()

    again = tune(wine, KnowledgeBase(":memory:"), load_space(SPACE), budget=5, seed=3, pruner=None)
    assert again.best_config == first.best_config
    assert again.best_value == pytest.approx(first.best_value, rel=1e-6)


def test_diverging_trials_do_not_stop_the_study(wine, tmp_path):
    space = tmp_path / "wild.toml"
    space.write_text(SPACE.read_text().replace("high = 0.3", "high = 90.0").replace(
        "low = 1e-4", "low = 30.0"))
    result = tune(wine, KnowledgeBase(":memory:"), load_space(space), budget=3, pruner=None,
                  seed=0)
    assert len(result.trials) == 3 and result.status == "finished"
    assert result.counts["diverged"] >= 1
    assert set(result.trials["status"]) <= {"ok", "diverged"}


def test_ctrl_c_keeps_finished_trials_and_marks_the_study_interrupted(wine):
    kb = KnowledgeBase(":memory:")

    def stop_after_two(event: TrialEvent) -> None:
        if event.done == 2:
            raise KeyboardInterrupt

    result = tune(wine, kb, load_space(SPACE), budget=6, progress=stop_after_two)
    assert result.status == "interrupted"
    assert len(kb.runs(study_id=result.study_id)) == 2
    assert kb.get_study(result.study_id).status == "interrupted"


def test_resume_after_sigkill_completes_the_budget_without_duplicates(wine, tmp_path):
    kb_path = tmp_path / "kb.duckdb"
    script = textwrap.dedent(f"""
        import os, signal
        from knowledge_base import KnowledgeBase
        from recommender.space import load_space
        from recommender.tune import tune
        from training import load_table

        def die(event):
            if event.done == 3:
                os.kill(os.getpid(), signal.SIGKILL)  # no clean-up at all

        tune(load_table({str(WINE)!r}), KnowledgeBase({str(kb_path)!r}),
             load_space({str(SPACE)!r}), budget=6, seed=1, pruner=None, progress=die)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    kb = KnowledgeBase(kb_path)
    (study_id,) = kb.studies()["id"]
    assert len(kb.runs(study_id=study_id)) == 3 and kb.get_study(study_id).status == "running"

    result = tune(wine, kb, load_space(SPACE), seed=1, pruner=None, resume=study_id)
    runs = kb.runs(study_id=study_id)
    assert len(runs) == 6 and runs["id"].is_unique
    assert result.study_id == study_id and sum(result.counts.values()) == 6
    assert kb.get_study(study_id).status == "finished"


def test_two_workers_log_the_same_number_of_trials(wine):
    kb = KnowledgeBase(":memory:")
    result = tune(wine, kb, load_space(SPACE), budget=4, workers=2, pruner="asha", seed=0)
    assert len(kb.runs(study_id=result.study_id)) == 4
    assert sum(result.counts.values()) == 4 and result.counts["failed"] == 0


def test_refit_saves_a_plain_dict_checkpoint(wine, tmp_path):
    result = tune(wine, KnowledgeBase(":memory:"), load_space(SPACE), budget=2, pruner=None,
                  refit=True, out=tmp_path / "model")
    checkpoint = torch.load(result.checkpoint, weights_only=False)
    assert checkpoint["config"]["width"] == result.best_config["width"]
    assert checkpoint["classes"] and checkpoint["preprocessing"] is not None
    assert checkpoint["state_dict"] and checkpoint["task"] == "multiclass"


def test_batches_train_together_and_batch_one_switches_batching_off(wine):
    kb = KnowledgeBase(":memory:")
    batched = tune(wine, kb, load_space(SPACE), budget=6, batch=3, strategy="random",
                   pruner=None, seed=0)
    fields = list(TrainConfig.field_names())
    configs = [TrainConfig.from_dict(row) for row in batched.trials[fields].to_dict("records")]
    assert len(configs) == 6 and batched.counts["ok"] == 6
    for start in (0, 3):  # each batch of three is one training group
        assert len({group_key(c) for c in configs[start : start + 3]}) == 1
    single = tune(wine, kb, load_space(SPACE), budget=3, batch=1, strategy="random",
                  pruner=None, seed=0)
    assert len(single.trials) == 3
    # batch=1 is the sequential study: its first trial is the batched study's lead
    assert single.trials[fields].iloc[0].equals(batched.trials[fields].iloc[0])
    with pytest.raises(InputError, match="batch must be >= 1"):
        tune(wine, kb, load_space(SPACE), budget=3, batch=0)
