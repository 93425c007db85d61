"""search_quality's test-split scoring: each search's incumbent after each trial, retrained and
scored once on rows the search never saw (real training on a small table), and a regret of those
scores that never takes their running best (that would select on the test split), counted seed
by seed between two searches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from benchmarks.search_quality import (
    _reusable,
    _same_split,
    incumbents_on_test,
    later_against_early,
    optimism,
    paired_counts,
    regrets,
)
from benchmarks.vs_realmlp import fit_and_test, score_config
from training import Table, TrainConfig


def _fit_and_test() -> tuple[Table, Table]:
    x, y = make_classification(n_samples=200, n_features=5, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    return fit_and_test(Table(frame, pd.Series(y, name="y"), "y", "binary", "fp", "toy"))


def test_each_trial_is_scored_by_its_incumbent_on_the_test_rows() -> None:
    fit, test = _fit_and_test()
    configs = [TrainConfig(max_epochs=2, learning_rate=lr).to_dict() for lr in (1e-3, 3e-3, 1e-2)]
    configs.append(TrainConfig(max_epochs=2, width=16).to_dict())
    # validation log losses: a failed first trial, then incumbents at trials 2 and 3; 4 is worse
    values = [math.nan, 0.60, 0.50, 0.70]
    scores = incumbents_on_test(values, configs, "log_loss", fit, test)
    assert math.isnan(scores[0])
    expected = [
        score_config(TrainConfig.from_dict(configs[i]), fit, test)["log_loss"] for i in (1, 2)
    ]
    assert scores[1:] == [expected[0], expected[1], expected[1]]
    assert expected[0] != expected[1]  # another learning rate, another test score


def test_test_scores_are_taken_as_they_are_not_as_their_running_best() -> None:
    reference = np.array([0.4, 0.5, 0.6, 0.8])  # R²: best 0.8, median 0.55
    incumbents = [0.5, 0.8, 0.6]  # the third incumbent scores worse on test than the second
    as_is = regrets(incumbents, reference, "maximize", running_best=False)
    np.testing.assert_allclose(as_is, [0.3 / 0.25, 0.0, 0.2 / 0.25])
    running = regrets(incumbents, reference, "maximize")
    assert running[2] == pytest.approx(0.0)  # the validation mode's best-so-far


def test_optimism_is_the_incumbents_validation_value_less_its_test_score() -> None:
    # log loss: a failed first trial, incumbents at trials 2 and 3 (test scores as retrained)
    done = {"values": [math.nan, 0.60, 0.50, 0.70], "test_values": [math.nan, 0.65, 0.58, 0.58]}
    np.testing.assert_allclose(optimism(done, "minimize"), [math.nan, 0.05, 0.08, 0.08])
    # R²: an incumbent that scores better on test than on validation has a negative optimism
    done = {"values": [0.80, 0.70, 0.90], "test_values": [0.85, 0.85, 0.80]}
    np.testing.assert_allclose(optimism(done, "maximize"), [-0.05, -0.05, 0.10])


def test_paired_counts_say_on_how_many_seeds_a_search_is_ahead_or_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # lower regret is better; seed 2 is a tie at trial 10, which counts as level
    rows = [
        ("a", 0, 10, 0.1, 0.2),
        ("a", 1, 10, 0.3, 0.2),
        ("a", 2, 10, 0.5, 0.5),
        ("b", 0, 10, 0.9, 0.1),
        ("a", 0, 20, 0.0, 0.2),
        ("b", 0, 20, 0.1, 0.1),
    ]
    at = pd.DataFrame(
        [
            {"dataset": d, "seed": s, "trial": t, "strategy": name, "regret": r}
            for d, s, t, pruned, unpruned in rows
            for name, r in (("pruned", pruned), ("unpruned", unpruned))
        ]
    )
    paired_counts(at)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "seeds on which pruned is ahead of or level with unpruned, after n trials"
    table = {line.split()[0]: line.split()[1:] for line in lines[4:]}
    assert table == {"a": ["2/3", "1/1"], "b": ["0/1", "1/1"], "all": ["2/4", "2/2"]}


def test_later_incumbents_are_counted_better_the_same_or_worse_on_test(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # per job: regret after 5 trials, then after 20 (lower is better)
    jobs = [(0, 0.5, 0.2), (1, 0.5, 0.5), (2, 0.1, 0.4), (3, 0.3, 0.9)]
    at = pd.DataFrame(
        [
            {"strategy": "pruned", "dataset": "a", "seed": seed, "trial": trial, "regret": r}
            for seed, early, late in jobs
            for trial, r in ((5, early), (20, late))
        ]
    )
    later_against_early(at)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "jobs whose incumbent at @20 is better / the same / worse on test than at @5",
        "  pruned          1 / 1 / 2 of 4",
    ]


def test_the_counts_print_nothing_where_there_is_nothing_to_compare(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # one job's test scores all equal: no spread to normalise by, so every regret is NaN
    at = pd.DataFrame(
        [
            {"strategy": name, "dataset": "a", "seed": 0, "trial": 5, "regret": math.nan}
            for name in ("pruned", "unpruned")
        ]
    )
    paired_counts(at)
    later_against_early(at)
    assert capsys.readouterr().out == ""


def test_a_rerun_after_a_pruner_change_reuses_the_jobs_the_pruner_played_no_part_in(
    tmp_path: Path,
) -> None:
    jobs = [
        {"dataset": "d", "strategy": strategy, "label": label, "pruner": pruner, "seed": 0,
         "budget": 20, "max_rows": 20_000, "max_epochs": 50, "kb_runs": 100}
        for strategy, label, pruner in (
            ("surrogate", "surrogate", "learned"),
            ("surrogate", "surrogate:none", "none"),
            ("tpe", "tpe", "learned"),  # Optuna's sampler: tune's pruner is never used
        )
    ]  # fmt: skip
    done = tmp_path / "jobs.jsonl"
    done.write_text("".join(json.dumps({**job, "values": [0.5]}) + "\n" for job in jobs))
    assert sorted(j["label"] for j in _reusable(jobs, done)) == ["surrogate:none", "tpe"]
    assert len(_reusable(jobs, done, pruned_too=True)) == 3  # --resume: every job
    other_kb = [{**job, "kb_runs": 200} for job in jobs]
    assert _reusable(other_kb, done) == []  # learned from another KB: run again


def test_with_resplit_each_seed_has_its_own_rows_and_is_compared_only_on_them(
    tmp_path: Path,
) -> None:
    x, y = make_classification(n_samples=200, n_features=5, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    table = Table(frame, pd.Series(y, name="y"), "y", "binary", "fp", "toy")
    (fit0, test0), (fit1, test1) = fit_and_test(table, 0), fit_and_test(table, 1)
    assert not test0.frame.equals(test1.frame)  # another seed, other test rows
    config = TrainConfig(max_epochs=2).to_dict()
    scores = incumbents_on_test([0.6], [config], "log_loss", fit1, test1, split_seed=1)
    expected = score_config(TrainConfig.from_dict(config), fit1, test1, split_seed=1)
    assert scores == [expected["log_loss"]]
    assert scores != incumbents_on_test([0.6], [config], "log_loss", fit0, test0)
    # a job from before --resplit ran on split 0: it is seed 0's job, and no other seed's
    job = {"dataset": "d", "strategy": "tpe", "label": "tpe", "pruner": "none", "budget": 40,
           "max_rows": 20_000, "max_epochs": 50, "kb_runs": 100}  # fmt: skip
    done = tmp_path / "jobs.jsonl"
    done.write_text("".join(json.dumps({**job, "seed": s, "values": [0.5]}) + "\n" for s in (0, 1)))
    resplit = [{**job, "seed": s, "split_seed": s} for s in (0, 1)]
    assert [j["seed"] for j in _reusable(resplit, done)] == [0]
    assert _same_split({"dataset": "d"}, resplit[0])
    assert not _same_split(resplit[0], resplit[1])
