"""PBT: sub-populations of one architecture led by the KB's suggestions; the worst copy the best
and explore inside the space; with `tune`, real training on wine (scikit-learn's wine data),
every member in the KB with its schedule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hpo_common.errors import InputError
from knowledge_base import SCHEDULE_KEY, KnowledgeBase
from recommender.learn import load_view
from recommender.search import PBTExploit, PBTSearcher
from recommender.search._pbt import EXPLORED
from recommender.space import SearchSpace, default_space
from recommender.tune import tune
from training import TrainConfig, load_table

ROOT = Path(__file__).resolve().parents[3]
WINE = ROOT / "examples" / "wine.csv"
# Long enough (12 epochs) for exploit steps at epochs 4 and 8; two architectures to choose from.
SPACE = SearchSpace.from_dict(
    {
        "parameters": {
            "learning_rate": {"type": "float", "low": 1e-4, "high": 0.3, "log": True},
            "weight_decay": {
                "type": "float",
                "low": 1e-6,
                "high": 1e-2,
                "log": True,
                "p_zero": 0.25,
            },
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
            "width": {"type": "int", "low": 8, "high": 32, "log": True},
            "max_epochs": {"type": "int", "low": 12, "high": 12},
            "patience": {"type": "int", "low": 0, "high": 0},
        }
    }
)


def test_the_worst_quantile_copies_the_best_and_explores_inside_the_space():
    policy = PBTExploit(default_space(), "minimize", quantile=0.25, resample=0.0, seed=1)
    configs = [
        TrainConfig(learning_rate=lr, weight_decay=1e-3, dropout=0.45)
        for lr in (0.9, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3)
    ]
    values = {m: float(m) for m in range(8)}  # log loss: member 0 best, member 7 worst
    values[3] = math.nan  # a non-finite value ranks worst
    copies = policy(4, values, configs)
    assert sorted(t for t, _, _ in copies) == [3, 7]
    for _, source, config in copies:
        assert source in (0, 1)
        lr = configs[source].learning_rate  # x1.25 of 0.9 is clipped to the space's 1.0
        assert config.learning_rate in [pytest.approx(min(lr * f, 1.0)) for f in (0.8, 1.25)]
        assert config.weight_decay in (pytest.approx(8e-4), pytest.approx(1.25e-3))
        assert config.dropout in (pytest.approx(0.36), 0.5)  # x1.25 clipped to the space
        assert (
            config.replace(**{n: getattr(configs[source], n) for n in EXPLORED})
            == (configs[source])
        )
    resampled = PBTExploit(default_space(), "maximize", resample=1.0, seed=2)
    for _, _, config in resampled(4, values, configs):
        assert all(default_space().parameters[n].contains(getattr(config, n)) for n in EXPLORED)
    assert policy(4, {0: 1.0}, configs) == []  # one member: nobody to copy
    with pytest.raises(InputError, match="quantile"):
        PBTExploit(default_space(), "minimize", quantile=0.75)


def test_a_sub_population_is_a_suggestion_and_variants_of_its_explored_values():
    space = default_space()
    points = space.sample(2, np.random.default_rng(3))
    searcher = PBTSearcher(space, points_to_evaluate=points, members=4, seed=0)
    for lead in points:
        population = searcher.ask_population(10)
        assert population[0] == lead and len(population) == 4
        assert len({json.dumps(c, sort_keys=True) for c in population}) == 4
        for config in population:
            space.validate(config)
            assert {k: v for k, v in config.items() if k not in EXPLORED} == {
                k: v for k, v in lead.items() if k not in EXPLORED
            }
    assert len(searcher.ask_population(2)) == 2  # the budget left caps a population


def test_tune_pbt_stores_every_member_with_its_schedule(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    with pytest.warns(UserWarning, match="learns nothing"):
        result = tune(
            load_table(WINE), kb, SPACE, budget=7, strategy="pbt", pruner=None, seed=0, device="cpu"
        )
    assert result.status == "finished" and len(result.trials) == 7
    assert kb.get_study(result.study_id).strategy == "pbt"
    runs = kb.runs(study_id=result.study_id)
    assert set(runs["status"]) <= {"ok", "diverged"} and (runs["status"] == "ok").any()
    schedules = [json.loads(extra)[SCHEDULE_KEY] for extra in runs["config_extra"]]
    assert [len({r["width"] for _, r in part.iterrows()}) for part in (runs[:5], runs[5:])] == [
        1,
        1,
    ]  # one architecture per population (5 members, then the 2 the budget leaves)
    copies = [step for schedule in schedules for step in schedule[1:]]
    assert copies and {step["epoch"] for step in copies} <= {5, 9}
    ids = set(runs["id"])
    for run_id, schedule in zip(runs["id"], schedules, strict=True):
        assert schedule[0]["epoch"] == 1 and schedule[0]["copied_from"] is None
        for step in schedule[1:]:
            assert step["copied_from"] in ids - {run_id}
            SPACE.validate(
                {n: step[n] for n in EXPLORED} | {"width": 8, "max_epochs": 12, "patience": 0}
            )
    # The member's final hyperparameters are its configuration; the schedule is no parameter.
    record = kb.get_run(runs["id"].iloc[0])
    assert record.config["learning_rate"] == schedules[0][-1]["learning_rate"]
    assert SCHEDULE_KEY not in load_view(kb).runs


def test_population_settings_are_checked():
    with pytest.raises(InputError, match="members >= 1"):
        PBTSearcher(SPACE, members=0)
