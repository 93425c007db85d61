"""Training length is learned: real runs of several lengths on scikit-learn datasets, their stored
curves expanded to epoch budgets, and `suggest` choosing `max_epochs` from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord
from recommender.learn import (
    KBView,
    SurrogateFeatures,
    compute_meta_features,
    fitted_surrogate,
    load_view,
)
from recommender.learn._budgets import budget_rows, budgets_of, trained_range
from recommender.space import Float, Int, SearchSpace, default_space
from recommender.suggest import suggest
from training import Table, TrainConfig, load_table, prepare, train

LENGTHS = (5, 20, 50)
RATES = (0.003, 0.005, 0.008, 0.012, 0.02, 0.03)
# Plain SGD at a constant, small learning rate: far from converged after 5 epochs, so longer
# training is genuinely better on every dataset.
BASE = TrainConfig(optimizer="sgd", momentum=0.0, batch_size=64, width=32, lr_schedule="constant")


def _space() -> SearchSpace:
    return SearchSpace(
        {"learning_rate": Float(0.003, 0.03, log=True), "max_epochs": Int(5, 50, log=True)}
    )


def _table(name: str) -> Table:
    loader = {
        "iris": load_iris,
        "wine": load_wine,
        "cancer": load_breast_cancer,
        "digits": load_digits,
    }[name]
    frame = loader(as_frame=True).frame.sample(frac=1.0, random_state=0).iloc[:400]
    return load_table(frame, target="target", name=name)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """Four classification datasets, each trained at six learning rates for 5, 20 and 50
    epochs (no early stopping), curves stored."""
    store = KnowledgeBase(tmp_path_factory.mktemp("budgets") / "kb.duckdb")
    for name in ("iris", "wine", "cancer", "digits"):
        table = _table(name)
        store.add_dataset(DatasetRecord.from_table(table))
        store.set_meta_features(table.fingerprint, compute_meta_features(table))
        data = prepare(table)
        results = [
            train(BASE.replace(learning_rate=lr, max_epochs=n, patience=0), data, device="cpu")
            for lr in RATES
            for n in LENGTHS
        ]
        store.log_runs([RunRecord.from_result(r, dataset_id=table.fingerprint) for r in results])
    return store


def test_the_fixture_is_a_world_where_longer_training_is_better(kb: KnowledgeBase) -> None:
    runs = kb.runs(columns=("dataset_id", "max_epochs", "log_loss"))
    by_length = runs.groupby(["dataset_id", "max_epochs"])["log_loss"].mean().unstack()
    assert (by_length[50] < by_length[20]).all() and (by_length[20] < by_length[5]).all()


def test_each_finished_run_speaks_for_every_budget_up_to_its_max_epochs(kb: KnowledgeBase) -> None:
    view = load_view(kb)
    space = _space()
    assert budgets_of(space) == (5, 10, 20, 50)
    assert budgets_of(default_space()) == (20, 50, 100, 200)
    curves = kb.curves(view.runs["id"])
    rows = budget_rows(view.runs, curves, budgets_of(space), lambda task: "log_loss")
    per_run = rows.groupby("id")["budget"].apply(sorted)
    lengths = view.runs.set_index("id")["max_epochs"]
    expected = {5: [5.0], 20: [5.0, 10.0, 20.0], 50: [5.0, 10.0, 20.0, 50.0]}
    assert all(per_run[i] == expected[n] for i, n in lengths.items())
    # A row below a run's length holds its best value up to that epoch, from its stored curve.
    run = view.runs[view.runs["max_epochs"] == 50].iloc[0]
    curve = kb.curves([run["id"]])
    at_10 = rows[(rows["id"] == run["id"]) & (rows["budget"] == 10)]
    assert at_10["log_loss"].item() == pytest.approx(curve["val_metric"].iloc[:10].min())
    assert np.isnan(at_10["accuracy"].item())  # the other metrics are unknown there
    final = rows[(rows["id"] == run["id"]) & (rows["budget"] == 50)]
    assert final["log_loss"].item() == run["log_loss"]


def test_early_stopped_and_pruned_runs(kb: KnowledgeBase) -> None:
    """After an early stop a run keeps its final value at every longer budget; a pruned run, or
    one a pruner ended as converged, says nothing beyond the epoch it was stopped at."""
    table = _table("iris")
    data = prepare(table)
    stopped = train(BASE.replace(learning_rate=0.5, max_epochs=100, patience=2), data, device="cpu")
    assert stopped.status == "ok" and stopped.epochs_run < 50
    pruned = train(
        BASE.replace(max_epochs=100), data, device="cpu", callback=lambda epoch, v: epoch >= 12
    )
    assert pruned.status == "pruned" and pruned.epochs_run == 12
    runs = pd.DataFrame(
        [
            {"id": "stopped", "status": "ok", "epochs_run": stopped.epochs_run},
            {"id": "pruned", "status": "pruned", "epochs_run": pruned.epochs_run},
            {"id": "converged", "status": "ok", "epochs_run": pruned.epochs_run},
        ]
    ).assign(task="multiclass", objective="log_loss", direction="minimize", max_epochs=100)
    runs["stop_reason"] = ["patience", "pruned", "converged"]
    runs["log_loss"] = runs["value"] = [stopped.value, pruned.value, pruned.value]
    curves = pd.concat(
        pd.DataFrame(
            {
                "run_id": name,
                "epoch": [p.epoch for p in r.curve],
                "val_metric": [p.val_metric for p in r.curve],
            }
        )
        for name, r in (("stopped", stopped), ("pruned", pruned), ("converged", pruned))
    )
    rows = budget_rows(runs, curves, (10, 20, 50, 100), lambda task: "log_loss")
    mine = rows[rows["id"] == "stopped"].set_index("budget")["log_loss"]
    assert sorted(mine.index) == [10, 20, 50, 100]
    assert mine[50] == mine[100] == stopped.value
    assert sorted(rows.loc[rows["id"] == "pruned", "budget"]) == [10, 12]
    assert sorted(rows.loc[rows["id"] == "converged", "budget"]) == [10, 12]


def test_suggest_ranks_the_longer_budget_higher_when_the_kb_shows_it_pays(
    kb: KnowledgeBase,
) -> None:
    view, space = load_view(kb), _space()
    table = _table("wine")  # learned from iris and digits (multiclass) and cancer
    held_out = view.without(table.fingerprint)
    features = view.meta.loc[table.fingerprint].to_dict()
    result = suggest(table, held_out, space, top=3, meta_features=features)
    assert result.suggestions[0].predicted_score is not None  # ranked, not the default ranking
    assert result.suggestions[0].config["max_epochs"] > 20
    assert not any("max_epochs" in note for note in result.notes)
    # The same configurations asked at 5 and 20 epochs score lower than at 50.
    surrogate = fitted_surrogate(held_out, space)
    layout = SurrogateFeatures(space)
    configs = [space.project(s.config) for s in result.suggestions]

    def at(epochs: int) -> np.ndarray:
        return surrogate.predict(
            layout.transform(features, [{**c, "max_epochs": epochs} for c in configs])
        )

    assert (at(50) > at(20)).all() and (at(20) > at(5) + 0.5).all()


def test_with_only_20_epoch_runs_suggestions_keep_20_and_say_why(kb: KnowledgeBase) -> None:
    view, space = load_view(kb), _space()
    table = _table("wine")
    only_20 = view.runs["max_epochs"] == 20
    twenty = KBView(view.runs[only_20], view.meta, curves=view.curves)
    assert trained_range(twenty.runs, twenty.meta.index) == (20, 20)
    features = view.meta.loc[table.fingerprint].to_dict()
    result = suggest(table, twenty.without(table.fingerprint), space, top=3, meta_features=features)
    assert result.suggestions[0].predicted_score is not None
    assert {s.config["max_epochs"] for s in result.suggestions} == {20}
    assert any("max_epochs=20" in note for note in result.notes)
