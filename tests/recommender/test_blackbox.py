"""Black-box studies: any parameters, told values learned from, history in bulk, warm starts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender import Recommender, SearchSpace
from recommender.learn import KBPrior, load_view
from recommender.search import SurrogateSearcher

SPACE = SearchSpace.from_dict(
    {
        "parameters": {
            "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 1.0},  # TrainConfig refuses 1.0
            "kernel_size": {"type": "int", "low": 1, "high": 9},
            "kind": {"type": "categorical", "choices": ["conv", "attention"]},
            "heads": {"type": "int", "low": 1, "high": 8, "condition": {"kind": ["attention"]}},
        }
    }
)


def objective(config: dict, shift: float = 0.0) -> float:
    """Best near lr 1e-2, dropout 0.3, kernel 5; attention a little better."""
    return (
        -((math.log10(config["lr"]) + 2 + shift) ** 2)
        - (config["dropout"] - 0.3) ** 2
        - 0.01 * (config["kernel_size"] - 5) ** 2
        + 0.1 * (config["kind"] == "attention")
    )


def history(n: int, shift: float, seed: int) -> pd.DataFrame:
    frame = pd.DataFrame(SPACE.sample(n, seed))
    frame["value"] = [objective(row.dropna().to_dict(), shift) for _, row in frame.iterrows()]
    return frame


def test_any_parameters_are_stored_read_back_and_encoded() -> None:
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = rec.study(name="own model", meta_features={"n_rows": 100.0})
    told = {"lr": 0.01, "dropout": 1.0, "kernel_size": 7, "kind": "attention", "heads": 4}
    study.tell(told, value=0.5)
    assert rec.kb.get_run(study.trials()["id"].iloc[0]).config == told
    view = load_view(rec.kb)
    encoded = SPACE.encode(view.runs)
    assert not np.isnan(encoded).any()  # every parameter, the extra ones too, reaches the model
    assert encoded[0, SPACE.names.index("kernel_size")] == 7


def test_earlier_black_box_studies_told_value_are_learned_from() -> None:
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(3):
            rec.study(name=f"task {k}", meta_features={"n_rows": 100.0 * (k + 1)}).tell_many(
                history(40, 0.1 * k, seed=k)
            )
    view = load_view(rec.kb)
    spread = view.scores.groupby(view.runs["dataset_id"]).std()
    assert (spread > 0.9).all()  # ranked on the told values, not all tied on an empty column
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: the KB is learnable
        study = rec.study(name="new task", meta_features={"n_rows": 150.0}, warm_start=3)
    assert isinstance(study.searcher, SurrogateSearcher)
    assert isinstance(study.searcher.prior, KBPrior)
    first = study.ask()
    assert objective(first) > np.median(history(200, 0.0, seed=9)["value"])


def test_a_study_with_nothing_to_learn_from_says_why_once() -> None:
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with pytest.warns(UserWarning, match="holds no runs") as record:
        study = rec.study(name="first")
    assert sum("learns nothing" in str(w.message) for w in record) == 1
    study.tell_many(history(20, 0.0, seed=1))  # told without meta-features
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the first study's runs are learnable: no warning
        second = rec.study(name="second")
    assert type(second.searcher.prior).__name__ == "TransferPrior"  # the past study as a source
    assert second.searcher.portfolio is not None  # the greedy portfolio across past studies
    # one earlier study: the portfolio's first pick is what it observed best
    assert second.ask() == second.space.project(study.best.config)


def test_tell_many_stores_history_in_one_call_and_the_search_learns_it() -> None:
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = rec.study(name="bulk")
    frame = history(300, 0.0, seed=2)
    frame.loc[0, "value"] = np.nan
    frame["status"] = ["failed"] + ["ok"] * (len(frame) - 1)
    records = study.tell_many(frame)
    assert len(records) == 300 and len(study.trials()) == 300
    assert study.n_trials == 300 and study.counts["failed"] == 1
    assert study.best.value == frame["value"].max()
    assert "heads" not in records[1].config or frame.loc[1, "kind"] == "attention"
    assert not study.searcher.is_new(study.space.project(records[5].config))
    with pytest.raises(InputError, match="unknown column.*kernel"):
        study.tell_many([{"lr": 0.1, "kernel": 3, "value": 1.0}])
    with pytest.raises(InputError, match="row 1"):
        study.tell_many([{**records[1].config, "value": 1.0}, {**records[2].config}])
    assert len(study.trials()) == 300  # a bad batch stores nothing


def test_warm_start_points_outside_the_space_are_moved_or_replaced_with_a_warning() -> None:
    narrow = SearchSpace.from_dict(
        {
            "parameters": {
                "weight_decay": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
                "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
            }
        }
    )
    points = [
        {"weight_decay": 0.0, "optimizer": "adam"},
        {"weight_decay": 0.01, "optimizer": "adamw"},
        {"weight_decay": 0.001, "optimizer": "sgd"},
    ]
    with pytest.warns(UserWarning, match=r"of 3 .*1 moved.*weight_decay 0.0 -> 1e-05.*1 left out"):
        searcher = SurrogateSearcher(narrow, points_to_evaluate=points)
    assert searcher.ask() == {"weight_decay": 1e-5, "optimizer": "adam"}
    assert searcher.ask() == {"weight_decay": 0.001, "optimizer": "sgd"}
    assert narrow.contains(searcher.ask())  # then its own proposals


def test_a_black_box_study_stops_hopeless_trials_by_its_own_curves() -> None:
    """The default pruner has no curve model for a "value" of the user's own: the study's told
    curves judge a new trial (`EnvelopePruner`), and a stopped trial is stored as pruned with the
    value it reached; the searcher learns the rule's bound, behind the best trial."""
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nothing to learn from the KB
        study = rec.study(name="own loop")
    for shift in (0.0, 0.05, 0.1, 0.15, 0.2):  # five trials that learned as a training loop does
        curve = [0.2 - shift, 0.5 - shift, 0.7 - shift, 0.8 - shift, 0.9 - shift]
        study.tell(study.ask(), value=max(curve), curve=curve)
    config = study.ask()
    stop = study.epoch_callback(config)
    told = []
    for epoch, value in enumerate([0.05, 0.1, 0.15, 0.2, 0.25], 1):
        told.append(value)
        if stop(epoch, value):
            break
    # 0.15 after 3 epochs: the others gained at most 0.2 from there, three times that is 0.6.
    assert len(told) == 3
    record = study.tell(config, value=max(told), status="pruned", curve=told)
    assert record.status == "pruned" and study.counts["pruned"] == 1
    assert study.best.value == pytest.approx(0.9)
    assert rec.kb.get_run(record.id).value == pytest.approx(0.15)
    assert study.searcher.scores[-1] == pytest.approx(0.15 + 3 * 0.2)
