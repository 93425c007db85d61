"""suggest end to end on a small real KB: real training runs, real DuckDB, real LightGBM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord
from recommender import _cache as meta_cache
from recommender.api import Recommender
from recommender.cli import app
from recommender.learn import _fit as surrogate_fit
from recommender.learn import compute_meta_features, load_view
from recommender.learn._rank import _candidates
from recommender.space import cap_epochs, default_space
from training import TrainConfig, TrainResult, load_table, prepare, train

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _log_runs(kb: KnowledgeBase, path: Path, target: str, n_configs: int) -> None:
    table = load_table(path, target=target)
    kb.add_dataset(DatasetRecord.from_table(table))
    kb.set_meta_features(table.fingerprint, compute_meta_features(table))
    data = prepare(table)
    samples = default_space().sample(n_configs, np.random.default_rng(1), method="sobol")
    results: list[TrainResult] = []
    for sample in [{}] + samples:
        config = TrainConfig.from_dict(sample).replace(max_epochs=3, width=32)
        results.append(train(config, data))
    kb.log_runs([RunRecord.from_result(r, dataset_id=table.fingerprint) for r in results])


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB file with real runs on two classification datasets and one regression dataset."""
    path = tmp_path_factory.mktemp("kb") / "kb.duckdb"
    kb = KnowledgeBase(path)
    _log_runs(kb, EXAMPLES / "wine.csv", "cultivar", 7)
    _log_runs(kb, EXAMPLES / "diabetes.csv", "progression", 7)
    cancer = pd.read_csv(EXAMPLES / "breast_cancer.csv").iloc[:300]
    cancer_file = path.parent / "cancer_part.csv"
    cancer.to_csv(cancer_file, index=False)
    _log_runs(kb, cancer_file, "diagnosis", 7)
    return path


def test_suggest_ranks_diverse_valid_configs_with_evidence(kb_path: Path) -> None:
    result = Recommender(kb=kb_path).suggest(EXAMPLES / "breast_cancer.csv", "diagnosis", top=4)
    assert result.task == "binary" and result.objective == "log_loss"
    assert [s.rank for s in result.suggestions] == [1, 2, 3, 4]
    scores = [s.predicted_score for s in result.suggestions]
    assert scores == sorted(scores, reverse=True)
    assert all(s.uncertainty is not None and s.uncertainty >= 0 for s in result.suggestions)
    configs = [TrainConfig.from_dict(s.config) for s in result.suggestions]
    assert len(set(configs)) == 4
    assert {d.name for d in result.similar_datasets} == {"wine", "diabetes", "cancer_part"}
    assert result.known_best_runs == ()


def test_a_config_best_on_several_datasets_is_one_candidate_naming_the_nearest(
    kb_path: Path,
) -> None:
    # The fixture runs the same 8 configurations on all three datasets, so each is among the
    # top 10 of every dataset: 8 candidates, each from the nearest dataset "and 2 more".
    view = load_view(KnowledgeBase(kb_path))
    features = view.meta.iloc[0].to_dict()
    near = view.nearest(features, exclude="", k=3)
    nearest_name = view.runs.set_index("dataset_id").loc[near.index[0], "dataset_name"].iloc[0]
    rng = np.random.default_rng(0)
    space = cap_epochs(default_space(), 3)  # the fixture's runs train 3 epochs
    candidates, origins = _candidates(view, space, 0, rng, near.index)
    assert len(candidates) == 8
    assert len({json.dumps(c, sort_keys=True) for c in candidates}) == 8
    assert set(origins) == {f"KB: top 10 on {nearest_name} and 2 more"}


def test_beyond_the_kb_a_table_is_as_near_as_at_its_edge(kb_path: Path) -> None:
    view = load_view(KnowledgeBase(kb_path))
    wine = view.runs.loc[view.runs["dataset_name"] == "wine", "dataset_id"].iloc[0]
    features = view.meta.loc[wine].to_dict()
    at_edge = {**features, "n_rows": view.meta["n_rows"].max()}
    far_beyond = {**features, "n_rows": 1_000_000.0}  # the KB's tables have 178 to 442 rows
    near = view.nearest(far_beyond, exclude="", k=3)
    pd.testing.assert_series_equal(near, view.nearest(at_edge, exclude="", k=3))
    # its other meta-features still decide: wine is nearest to itself, not the largest table
    assert near.index[0] == wine


def test_known_dataset_shows_its_best_runs(kb_path: Path) -> None:
    result = Recommender(kb=kb_path).suggest(EXAMPLES / "wine.csv", "cultivar", top=2)
    losses = [run["log_loss"] for run in result.known_best_runs]
    assert losses and losses == sorted(losses)
    assert "wine" not in {d.name for d in result.similar_datasets}


def test_a_dataset_without_runs_is_no_similar_dataset(kb_path: Path, tmp_path: Path) -> None:
    """A dataset registered with meta-features but no runs yet (a build in progress, a study
    that failed at once) has nothing to show: it must not take a similar dataset's place."""
    path = tmp_path / "kb.duckdb"
    path.write_bytes(kb_path.read_bytes())
    kb = KnowledgeBase(path)
    cancer = pd.read_csv(EXAMPLES / "breast_cancer.csv").iloc[300:]
    (tmp_path / "no_runs.csv").write_text(cancer.to_csv(index=False))
    table = load_table(tmp_path / "no_runs.csv", target="diagnosis")
    kb.add_dataset(DatasetRecord.from_table(table))
    kb.set_meta_features(table.fingerprint, compute_meta_features(table))
    assert table.fingerprint in load_view(kb).meta.index  # registered, meta-features known
    result = Recommender(kb=path).suggest(EXAMPLES / "breast_cancer.csv", "diagnosis", top=2)
    assert {d.name for d in result.similar_datasets} == {"wine", "diabetes", "cancer_part"}


def test_regression_uses_r2_and_learns_from_regression_runs(kb_path: Path) -> None:
    frame = pd.read_csv(EXAMPLES / "diabetes.csv").iloc[:200]
    result = Recommender(kb=kb_path).suggest(frame, "progression", top=2)
    assert result.objective == "r2"
    assert not result.notes or "default ranking" not in " ".join(result.notes)


def test_empty_kb_falls_back_to_the_default_ranking(tmp_path: Path) -> None:
    rec = Recommender(kb=KnowledgeBase(tmp_path / "empty.duckdb"))
    result = rec.suggest(EXAMPLES / "wine.csv", "cultivar", top=3)
    assert any("default ranking" in note for note in result.notes)
    assert [s.origin for s in result.suggestions] == ["default ranking"] * 3
    assert all(s.predicted_score is None for s in result.suggestions)


def test_surrogate_is_cached_on_disk_per_kb_state(kb_path: Path, monkeypatch) -> None:
    rec = Recommender(kb=kb_path)
    fitted = rec.suggest(EXAMPLES / "wine.csv", "cultivar", top=3)
    cached = list((kb_path.parent / "kb.cache").glob("surrogate-*.pkl"))
    assert len(cached) == 1
    assert len(list((kb_path.parent / "kb.cache").glob("meta-*.json"))) >= 1
    surrogate_fit._MEMORY.clear()

    def no_refit(*args, **kwargs):
        raise AssertionError("the cached surrogate should have been loaded, not refitted")

    monkeypatch.setattr(surrogate_fit.Surrogate, "fit", no_refit)
    monkeypatch.setattr(meta_cache, "compute_meta_features", no_refit)
    # the surrogate read back from disk ranks exactly as the one just fitted
    assert rec.suggest(EXAMPLES / "wine.csv", "cultivar", top=3) == fitted


class FewerMembers(surrogate_fit.Surrogate):
    """A surrogate whose default settings differ (module level, so it pickles)."""

    def __init__(self, n_models: int = 3, **kwargs) -> None:
        super().__init__(n_models=n_models, **kwargs)


def test_cached_surrogate_fitted_with_other_settings_is_refitted(
    kb_path: Path, monkeypatch
) -> None:
    # A cache written by a version whose surrogate had other settings (e.g. fewer members) must
    # not be loaded after an upgrade: the KB is unchanged, but the model would be.
    rec = Recommender(kb=kb_path)
    rec.suggest(EXAMPLES / "wine.csv", "cultivar", top=1)
    surrogate_fit._MEMORY.clear()
    monkeypatch.setattr(surrogate_fit, "Surrogate", FewerMembers)
    rec.suggest(EXAMPLES / "wine.csv", "cultivar", top=1)
    cached = list((kb_path.parent / "kb.cache").glob("surrogate-*.pkl"))
    assert len(cached) == 2
    assert [len(model.boosters_) for model in surrogate_fit._MEMORY.values()] == [3]


def test_suggest_seed_also_seeds_the_surrogate(kb_path: Path) -> None:
    surrogate_fit._MEMORY.clear()
    args = ["suggest", str(EXAMPLES / "wine.csv"), "--target", "cultivar", "--kb", str(kb_path)]
    result = CliRunner().invoke(app, [*args, "--top", "1", "--json", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert [model.seed for model in surrogate_fit._MEMORY.values()] == [7]
    assert CliRunner().invoke(app, [*args, "--seed", "-1"]).exit_code == 2


def test_cli_suggest_json_and_saved_config_feeds_train(kb_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    saved = tmp_path / "best.json"
    result = runner.invoke(
        app,
        [
            "suggest",
            str(EXAMPLES / "wine.csv"),
            "--target",
            "cultivar",
            "--top",
            "2",
            "--kb",
            str(kb_path),
            "--json",
            "--save-config",
            str(saved),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["suggestions"]) == 2
    assert json.loads(saved.read_text()) == payload["suggestions"][0]["config"]
    trained = runner.invoke(
        app,
        [
            "train",
            str(EXAMPLES / "wine.csv"),
            "--target",
            "cultivar",
            "--config",
            str(saved),
            "--set",
            "max_epochs=2",
            "--json",
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["status"] in ("ok", "diverged")


def test_cli_suggest_bad_target_is_one_line_exit_2(kb_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["suggest", str(EXAMPLES / "wine.csv"), "--target", "nope", "--kb", str(kb_path)]
    )
    assert result.exit_code == 2
    assert "nope" in result.output and "Traceback" not in result.output
