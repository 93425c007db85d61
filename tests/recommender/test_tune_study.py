"""Ask/tell studies (a dataset or a black-box objective), pruning and the search strategies."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender import Recommender
from recommender._wiring import make_pruner
from recommender.search import (
    MedianPruner,
    PortfolioSearcher,
    RandomSearcher,
    SuccessiveHalvingPruner,
    SurrogateSearcher,
    config_key,
)
from recommender.space import load_space
from training import prepare, train

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "tests" / "recommender" / "data" / "tiny_space.toml"
WINE = ROOT / "examples" / "wine.csv"


def toy(config: dict) -> float:
    """A black-box objective: best near learning_rate 1e-2 and width 32."""
    return -abs(math.log10(config["learning_rate"]) + 2) - abs(math.log2(config["width"]) - 5) / 4


def test_black_box_ask_tell_round_trip_and_resume(tmp_path):
    rec = Recommender(kb=tmp_path / "kb.duckdb", space=SPACE)
    study = rec.study(name="toy objective")
    for _ in range(4):
        config = study.ask()
        study.tell(config, value=toy(config), curve=[toy(config) - 1, toy(config)])
    failed = study.ask()
    study.tell(failed, status="failed")
    assert study.counts == {"ok": 4, "failed": 1}
    runs = rec.kb.runs(study_id=study.id)
    assert len(runs) == 5 and runs["id"].is_unique
    assert rec.kb.get_dataset(study.dataset_id).name == "toy objective"
    assert study.dataset_id.startswith("blackbox-")
    stored = rec.kb.get_run(study.best.id)
    assert stored.value == study.best.value and [p.epoch for p in stored.curve] == [1, 2]

    resumed = rec.study(name="toy objective", resume=study.id)
    assert resumed.n_trials == 5 and resumed.best.id == study.best.id
    config = resumed.ask()
    assert config_key(config) not in {config_key(study.space.project(c))
                                      for c in resumed.searcher.configs}
    resumed.tell(config, value=toy(config))
    assert len(rec.kb.runs(study_id=study.id)) == 6


def test_tell_rejects_an_ok_trial_without_a_value():
    study = Recommender(kb=":memory:", space=SPACE).study(name="x")
    with pytest.raises(InputError, match="needs a finite value"):
        study.tell(study.ask())
    with pytest.raises(InputError, match="status must be one of"):
        study.tell(study.ask(), value=1.0, status="great")


def test_study_on_a_dataset_with_the_users_own_training_loop():
    rec = Recommender(kb=":memory:", space=SPACE)
    study = rec.study(WINE, pruner="median")
    data = prepare(rec.table(WINE))
    for _ in range(2):
        config = study.ask()
        result = train(study.train_config(config), data, device="cpu",
                       callback=study.epoch_callback())
        study.tell(config, result=result)
    trials = study.trials()
    assert list(trials["trial"]) == [0, 1]
    assert set(trials["objective"]) == {"log_loss"} and trials["log_loss"].notna().all()


def test_median_pruner_stops_a_clearly_bad_real_trial():
    rec = Recommender(kb=":memory:", space=SPACE)
    study = rec.study(WINE, pruner="median")
    for good in ([0.9, 0.5, 0.3, 0.2], [0.8, 0.4, 0.2, 0.1], [0.7, 0.4, 0.3, 0.2]):
        study.tell({"optimizer": "adam", "learning_rate": 0.01, "width": 32, "max_epochs": 4},
                   value=min(good), curve=good)
    bad = {"optimizer": "sgd", "learning_rate": 1e-4, "width": 8, "max_epochs": 4}
    result = train(study.train_config(bad), prepare(rec.table(WINE)), device="cpu",
                   callback=study.epoch_callback())
    record = study.tell(bad, result=result)
    assert record.status == "pruned"
    assert record.epochs_run == 3 < 4  # pruned at the first epoch after the warm-up
    assert len(rec.kb.get_run(record.id).curve) == 3


def test_successive_halving_rungs_and_direction():
    asha = SuccessiveHalvingPruner(min_epochs=1, reduction_factor=3, n_startup_trials=3)
    assert [e for e in range(1, 30) if asha.is_rung(e)] == [1, 3, 9, 27]
    history = [[0.9], [0.8], [0.7], [0.6]]  # accuracy, higher is better
    assert asha.callback(history, "maximize")(1, 0.5) is True
    assert asha.callback(history, "maximize")(1, 0.95) is False
    assert asha.callback(history, "minimize")(1, 0.5) is False
    assert MedianPruner().callback(history[:2], "maximize")(3, 0.0) is False  # too few trials
    assert make_pruner("none") is None
    with pytest.raises(InputError, match="pruner must be one of"):
        make_pruner("sometimes")


@pytest.mark.parametrize("searcher_class", [RandomSearcher, SurrogateSearcher])
def test_searchers_try_warm_start_points_first_and_never_repeat(searcher_class):
    space = load_space(SPACE)
    first = {"optimizer": "adam", "learning_rate": 0.01, "width": 32, "max_epochs": 4}
    searcher = searcher_class(space, points_to_evaluate=[first, first], seed=0)
    asked = []
    for _ in range(12):
        config = searcher.ask()
        asked.append(config_key(config))
        searcher.observe(config, toy(config))
    assert asked[0] == config_key(first) and len(set(asked)) == 12


def test_surrogate_search_learns_where_the_good_region_is():
    space = load_space(SPACE)
    searcher, random = SurrogateSearcher(space, seed=0), RandomSearcher(space, seed=0)
    for _ in range(20):
        for s in (searcher, random):
            config = s.ask()
            s.observe(config, toy(config))
    assert np.mean(searcher.scores[10:]) > np.mean(random.scores[10:]) + 0.3
    assert np.mean(searcher.scores[10:]) > np.mean(searcher.scores[:5]) + 0.3


def test_portfolio_runs_out_of_ideas():
    searcher = PortfolioSearcher(load_space(SPACE), points_to_evaluate=[
        {"optimizer": "adam", "learning_rate": 0.01, "width": 32, "max_epochs": 4}])
    assert searcher.ask() is not None and searcher.ask() is None


def test_kb_prior_warm_starts_a_new_dataset(tmp_path):
    kb_path = tmp_path / "kb.duckdb"
    rec = Recommender(kb=kb_path, space=SPACE)
    rec.tune(WINE, budget=3, pruner=None)
    study = Recommender(kb=KnowledgeBase(kb_path), space=SPACE).study(
        name="fresh", meta_features={"n_rows": 178.0}, objective="log_loss", task="multiclass")
    prior = study.searcher.prior  # the KB surrogate at the given meta-features
    assert type(prior).__name__ == "KBPrior"
    assert study.searcher.points_to_evaluate  # the suggestions, tried first
