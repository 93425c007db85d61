"""The Optuna integration on real studies: real training as the objective, real SQLite storage."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from study_factory import WINE, make_study
from typer.testing import CliRunner

from knowledge_base import KnowledgeBase
from recommender.api import Recommender
from recommender.cli import app
from training import TrainConfig, load_table, prepare, train

optuna = pytest.importorskip("optuna")
from recommender.integrations._optuna_mapping import snap  # noqa: E402
from recommender.integrations.optuna import RecommenderSampler  # noqa: E402
from recommender.reports import study_report  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
runner = CliRunner()
OPTIMIZERS = ["adam", "adamw", "sgd"]


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB that has seen wine: one study of six real runs."""
    path = tmp_path_factory.mktemp("kb") / "kb.duckdb"
    make_study(KnowledgeBase(path), n_trials=6, diverged=False)
    return path


@pytest.fixture(scope="module")
def wine_data():  # noqa: ANN201 - a PreparedData
    return prepare(load_table(WINE, target="cultivar"))


def _objective(data):  # noqa: ANN001, ANN202
    def objective(trial: optuna.Trial) -> float:
        config = TrainConfig(
            optimizer=trial.suggest_categorical("optimizer", OPTIMIZERS),
            learning_rate=trial.suggest_float("learning_rate", 1e-4, 0.1, log=True),
            batch_size=trial.suggest_categorical("batch_size", [32, 64, 128]),
            width=trial.suggest_int("width", 16, 128, step=16),
            dropout=trial.suggest_float("dropout", 0.0, 0.5, step=0.05),
            max_epochs=3,
        )
        trial.suggest_int("unknown_to_the_recommender", 1, 10)

        def report(epoch: int, value: float) -> bool:
            trial.report(value, epoch)
            return False

        return train(config, data, callback=report).value

    return objective


def test_sampler_warm_starts_then_searches_within_the_study_distributions(
    kb_path: Path, wine_data, tmp_path: Path
) -> None:
    top = Recommender(kb=kb_path).suggest(WINE, "cultivar", top=3).suggestions  # before logging
    sampler = RecommenderSampler(kb=kb_path, dataset=WINE, target="cultivar", warm_start=3,
                                 log_to_kb=True)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective(wine_data), n_trials=6)
    sampler.finish()
    trials = study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 6
    for t in trials:  # every value lies in the study's own distributions, snapped to steps
        assert t.params["optimizer"] in OPTIMIZERS and t.params["batch_size"] in (32, 64, 128)
        assert 1e-4 <= t.params["learning_rate"] <= 0.1
        assert t.params["width"] % 16 == 0 and 16 <= t.params["width"] <= 128
        assert round(t.params["dropout"] / 0.05, 6).is_integer()
        assert 1 <= t.params["unknown_to_the_recommender"] <= 10
    keys = {json.dumps({k: v for k, v in t.params.items() if k != "unknown_to_the_recommender"},
                       sort_keys=True) for t in trials}
    assert len(keys) == 6  # no configuration twice
    # The warm start is the recommender's top suggestions, mapped onto the study's ranges.
    for trial, suggestion in zip(trials[:3], top, strict=True):
        lr = min(max(suggestion.config["learning_rate"], 1e-4), 0.1)
        assert trial.params["learning_rate"] == pytest.approx(lr)
        if suggestion.config["optimizer"] in OPTIMIZERS:
            assert trial.params["optimizer"] == suggestion.config["optimizer"]
    # Every finished trial is in the KB under one study, with its curve.
    kb = KnowledgeBase(kb_path)
    runs = kb.runs(study_id=sampler.kb_study_id)
    assert len(runs) == 6 and set(runs["status"]) == {"ok"}
    assert sorted(runs["value"]) == sorted(t.value for t in trials)
    assert len(kb.curves(runs["id"])) == 6 * 3
    assert kb.get_study(sampler.kb_study_id).status == "finished"
    assert json.loads(runs["config_extra"].iloc[0]) == {
        "unknown_to_the_recommender": trials[0].params["unknown_to_the_recommender"]
    }
    files = study_report(kb, sampler.kb_study_id, tmp_path)  # a logged study can be reported
    assert all(p.stat().st_size > 0 for p in files.paths)


def test_snap_clips_steps_and_keeps_bools_apart_from_ints() -> None:
    dist = optuna.distributions
    assert snap(2000, dist.IntDistribution(16, 1024, log=True)) == 1024
    assert snap(0.37, dist.FloatDistribution(0.0, 0.5, step=0.1)) == 0.4
    assert snap(7, dist.IntDistribution(0, 8, step=4)) == 8
    assert snap(1e-9, dist.FloatDistribution(1e-5, 1.0, log=True)) == 1e-5
    assert snap(100, dist.CategoricalDistribution([32, 64, 128])) == 128
    assert snap(True, dist.CategoricalDistribution([1, 0])) is None
    assert snap(True, dist.CategoricalDistribution([False, True])) is True
    assert snap("rmsprop", dist.CategoricalDistribution(["adam", "sgd"])) is None


def test_log_from_optuna_imports_complete_trials_once(tmp_path: Path, wine_data) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="wine", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_objective(wine_data), n_trials=3)
    study.enqueue_trial({"optimizer": "adam"})
    study.ask()  # a trial left running: not imported
    kb_file = tmp_path / "kb.duckdb"
    args = ["log", "--from-optuna", storage, "--study", "wine", "--dataset", str(WINE),
            "--target", "cultivar", "--kb", str(kb_file), "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["rows"], report["imported"], report["already_stored"]) == (3, 3, 0)
    again = json.loads(runner.invoke(app, args).stdout)
    assert (again["imported"], again["already_stored"]) == (0, 3)
    runs = KnowledgeBase(kb_file).runs(source="log")
    assert sorted(runs["value"]) == sorted(t.value for t in study.trials[:3])
    assert set(runs["objective"]) == {"log_loss"} and set(runs["direction"]) == {"minimize"}
    assert set(runs["optimizer"]) <= set(OPTIMIZERS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--study", "nope"], "no Optuna study 'nope'"),
        (["--study", "wine", "--metric", "accuracy"], "accuracy is to maximize"),
        ([], "--from-optuna STORAGE_URL --study NAME"),
    ],
)
def test_log_from_optuna_bad_input_exits_2(tmp_path: Path, extra: list[str], message: str) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="wine", storage=storage)
    study.add_trial(optuna.trial.create_trial(
        params={"learning_rate": 0.01},
        distributions={"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1.0)},
        value=0.3,
    ))
    result = runner.invoke(app, ["log", "--from-optuna", storage, *extra, "--dataset", str(WINE),
                                 "--target", "cultivar", "--kb", str(tmp_path / "kb.duckdb")])
    assert result.exit_code == 2
    assert message in result.output


def _count_rows(kb: KnowledgeBase) -> tuple[int, int, int]:
    return len(kb.runs()), len(kb.studies()), len(kb.datasets())


def test_sampler_without_log_to_kb_warm_starts_learns_and_writes_nothing(kb_path: Path) -> None:
    kb = KnowledgeBase(kb_path)
    before = _count_rows(kb)
    top = Recommender(kb=kb_path).suggest(WINE, "cultivar", top=2).suggestions
    sampler = RecommenderSampler(kb=kb_path, dataset=WINE, target="cultivar", warm_start=2)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:  # a cheap black box on the sampler's names
        lr = trial.suggest_float("learning_rate", 1e-6, 10.0, log=True)
        width = trial.suggest_int("width", 1, 4096)
        return abs(math.log10(lr) + 2.5) + width / 4096

    study.optimize(objective, n_trials=4)
    for trial, suggestion in zip(study.trials[:2], top, strict=True):  # the KB's suggestions first
        assert trial.params["learning_rate"] == pytest.approx(suggestion.config["learning_rate"])
        assert trial.params["width"] == suggestion.config["width"]
    assert sampler.study is not None and sampler.study.n_trials == 4  # the searcher learned
    assert sampler.study.searcher.scores == pytest.approx([-t.value for t in study.trials])
    assert sampler.kb_study_id is None
    sampler.finish()
    assert _count_rows(KnowledgeBase(kb_path)) == before  # nothing stored
