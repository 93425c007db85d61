"""`train_population` with real torch training (CPU): an exploit copies the source's weights,
optimizer state and hyperparameters; the schedule says so; statuses stay per member."""

from __future__ import annotations

import math

import pytest

from hpo_common.errors import ConfigError
from training import PreparedData, TrainConfig, train, train_population

BASE = TrainConfig(max_epochs=6, width=16, n_layers=2, dropout=0.0, patience=0, batch_size=64)


def copy_at(epoch: int, target: int, source: int, **changes):
    """A policy that, at `epoch`, makes `target` a copy of `source` (with `changes`)."""
    calls = []

    def exploit(at, values, configs):
        calls.append((at, dict(values)))
        if at != epoch:
            return []
        return [(target, source, configs[source].replace(**changes))]

    return exploit, calls


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_copy_trains_on_exactly_as_its_source(cancer: PreparedData, optimizer: str):
    # Same shuffles, no dropout: once member 1 holds member 0's weights, optimizer state and
    # hyperparameters, the two runs are one run, so their curves agree exactly from then on.
    configs = [
        BASE.replace(optimizer=optimizer, learning_rate=lr, momentum=0.9) for lr in (3e-3, 3e-1)
    ]
    exploit, calls = copy_at(2, target=1, source=0)
    first, second = train_population(configs, cancer, ready=2, exploit=exploit, device="cpu")
    assert [c[0] for c in calls] == [2, 4]
    assert set(calls[0][1]) == {0, 1}
    assert first.curve[:2] != second.curve[:2]
    for a, b in zip(first.curve[2:], second.curve[2:], strict=True):
        assert (a.train_loss, a.val_loss, a.val_metric, a.lr) == (
            b.train_loss,
            b.val_loss,
            b.val_metric,
            b.lr,
        )
    assert second.config == first.config == configs[0]
    assert first.schedule == (
        {
            "epoch": 1,
            "learning_rate": 3e-3,
            "weight_decay": 0.0,
            "dropout": 0.0,
            "copied_from": None,
        },
    )
    assert second.schedule[1] == {
        "epoch": 3,
        "learning_rate": 3e-3,
        "weight_decay": 0.0,
        "dropout": 0.0,
        "copied_from": 0,
    }


def test_a_copy_takes_the_new_hyperparameters(cancer: PreparedData):
    configs = [BASE.replace(learning_rate=1e-3), BASE.replace(learning_rate=2e-3)]
    exploit, _ = copy_at(2, target=0, source=1, learning_rate=5e-3, dropout=0.2, weight_decay=1e-4)
    first, second = train_population(configs, cancer, ready=2, exploit=exploit, device="cpu")
    assert [p.lr for p in first.curve] == pytest.approx([1e-3] * 2 + [5e-3] * 4)
    assert first.config == configs[1].replace(learning_rate=5e-3, dropout=0.2, weight_decay=1e-4)
    assert first.schedule[-1] == {
        "epoch": 3,
        "learning_rate": 5e-3,
        "weight_decay": 1e-4,
        "dropout": 0.2,
        "copied_from": 1,
    }
    assert second.schedule[1:] == () and first.status == second.status == "ok"
    # With dropout on and another rate, the copy no longer follows its source.
    assert first.curve[2].train_loss != second.curve[2].train_loss


def test_a_diverged_member_is_never_offered_to_the_policy(regression: PreparedData):
    configs = [BASE.replace(optimizer="sgd", learning_rate=lr) for lr in (1e-3, 2e-3, 50.0)]
    seen = []

    def exploit(epoch, values, configs):
        seen.append(set(values))
        return []

    results = train_population(configs, regression, ready=1, exploit=exploit, device="cpu")
    assert [r.status for r in results] == ["ok", "ok", "diverged"]
    assert results[2].epochs_run < 6 and math.isfinite(results[0].value)
    assert all(2 not in s for s in seen[results[2].epochs_run - 1 :])


def test_members_of_another_shape_or_a_copy_of_a_stopped_member_are_refused(
    tiny: PreparedData,
):
    with pytest.raises(ConfigError, match="member 1 cannot share member 0's stacked model"):
        train_population(
            [BASE, BASE.replace(width=32)], tiny, ready=2, exploit=lambda *a: [], device="cpu"
        )

    def exploit(epoch, values, configs):
        return [(0, 5, configs[0])]

    with pytest.raises(ConfigError, match="member 0 cannot copy member 5"):
        train_population(
            [BASE, BASE.replace(learning_rate=1e-2)], tiny, ready=2, exploit=exploit, device="cpu"
        )
    exploit, _ = copy_at(2, target=0, source=1, width=32)
    with pytest.raises(ConfigError, match="cannot share"):
        train_population(
            [BASE, BASE.replace(learning_rate=1e-2)], tiny, ready=2, exploit=exploit, device="cpu"
        )


def test_members_with_a_recipe_the_stacked_model_lacks_train_alone(tiny: PreparedData):
    configs = [
        BASE.replace(num_embedding="periodic"),
        BASE.replace(num_embedding="periodic", learning_rate=1e-2),
    ]
    exploit, calls = copy_at(2, target=0, source=1)
    results = train_population(configs, tiny, ready=2, exploit=exploit, device="cpu")
    assert [r.status for r in results] == ["ok", "ok"] and calls == []
    assert [len(r.schedule) for r in results] == [1, 1]
    solo = train(configs[1], tiny, device="cpu", seed=0)
    assert results[1].value == pytest.approx(solo.value)
