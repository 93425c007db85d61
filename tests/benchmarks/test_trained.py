"""The benchmarks' store of trainings: a rerun trains only what it has not trained before, and
gives back exactly the stored outcome of what it has (real `train_many` runs on a small table)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification

from benchmarks import _trained
from benchmarks._trained import append_trained, load_trained, train_known
from training import PreparedData, TrainConfig


def _data() -> PreparedData:
    x, y = make_classification(n_samples=160, n_features=5, random_state=0)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)
    return PreparedData(x[:120], y[:120], x[120:], y[120:], task="binary", n_classes=2)


def test_a_rerun_trains_only_new_configurations_and_reuses_stored_outcomes(
    tmp_path: Path,
) -> None:
    data, store = _data(), tmp_path / "trained.jsonl"
    first = [TrainConfig(max_epochs=3), TrainConfig(max_epochs=3, learning_rate=0.01)]
    args = {"dataset_id": "d1", "metric": "log_loss", "seeds": 2}

    outcomes, fresh = train_known(first, data, known=load_trained(store), **args)
    assert len(fresh) == 4 and all(status == "ok" for row in outcomes for status, _ in row)
    assert outcomes[0][0] != outcomes[1][0]  # another learning rate, another result
    append_trained(store, fresh)

    added = TrainConfig(max_epochs=3, batch_size=16)
    again, fresh = train_known([*first, added], data, known=load_trained(store), **args)
    assert [(e["seed"], e["config"]["batch_size"]) for e in fresh] == [(0, 16), (1, 16)]
    assert again[:2] == outcomes  # read back from the file, not retrained

    elsewhere, fresh = train_known(first[:1], data, known=load_trained(store), **{
        **args, "dataset_id": "d2"
    })  # fmt: skip
    assert len(fresh) == 2  # another table: trained anew
    # The same data under another id: the same training, to float tolerance (trained alone
    # here, beside another member before; the store is what makes a rerun exact).
    assert [v for _, v in elsewhere[0]] == pytest.approx([v for _, v in outcomes[0]], rel=1e-5)


def test_each_seed_is_stored_as_it_finishes_so_a_stopped_run_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large table's run stopped during its second seed keeps the first seed's trainings: the
    rerun trains only the second seed."""
    data, store = _data(), tmp_path / "trained.jsonl"
    configs = [TrainConfig(max_epochs=3), TrainConfig(max_epochs=3, learning_rate=0.01)]
    args = {"dataset_id": "d1", "metric": "log_loss", "seeds": 2, "store": store}
    train_many = _trained.train_many

    def stopped_at_seed_1(*pos: object, seed: int, **kw: object) -> object:
        if seed == 1:
            raise KeyboardInterrupt  # as a run stopped by hand during its second seed
        return train_many(*pos, seed=seed, **kw)

    monkeypatch.setattr(_trained, "train_many", stopped_at_seed_1)
    with pytest.raises(KeyboardInterrupt):
        train_known(configs, data, known=load_trained(store), **args)
    assert [e["seed"] for e in map(json.loads, store.read_text().splitlines())] == [0, 0]

    monkeypatch.undo()
    outcomes, fresh = train_known(configs, data, known=load_trained(store), **args)
    assert [e["seed"] for e in fresh] == [1, 1]  # seed 0 read back, not trained again
    assert len(load_trained(store)) == 4 and all(s == "ok" for row in outcomes for s, _ in row)
