"""`train_population` with real torch training (CPU): an exploit copies the source's weights,
optimizer state and hyperparameters; the schedule says so; statuses stay per member."""

from __future__ import annotations

import math
from collections.abc import Callable

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
    periodic = BASE.replace(num_embedding="periodic")
    for other, field in [
        (BASE, "num_embedding, embedding_dim"),  # its size counts where there is one
        (periodic.replace(embedding_dim=4), "embedding_dim"),
    ]:
        with pytest.raises(ConfigError, match=f"it sets another {field}$"):
            train_population([periodic, other], tiny, ready=2, exploit=lambda *a: [], device="cpu")
    with pytest.raises(ConfigError, match="at least one member"):
        train_population([], tiny, ready=2, exploit=lambda *a: [], device="cpu")

    def exploit(epoch, values, configs):
        return [(0, 5, configs[0])]

    with pytest.raises(ConfigError, match="member 0 cannot copy member 5"):
        train_population(
            [BASE, BASE.replace(learning_rate=1e-2)], tiny, ready=2, exploit=exploit, device="cpu"
        )
    with pytest.raises(ConfigError, match="must be a TrainConfig, but got dict"):
        train_population(
            [BASE, BASE.replace(learning_rate=1e-2)],
            tiny,
            ready=2,
            exploit=lambda epoch, values, configs: [(0, 1, configs[1].to_dict())],
            device="cpu",
        )
    exploit, _ = copy_at(2, target=0, source=1, ensemble_size=4)
    with pytest.raises(ConfigError, match="member 0's new configuration .* ensemble_size$"):
        train_population(
            [BASE, BASE.replace(learning_rate=1e-2)], tiny, ready=2, exploit=exploit, device="cpu"
        )


STRUCTURES = pytest.mark.parametrize(
    ("data_name", "structure"),
    [
        ("cancer", {"ensemble_size": 4, "batch_norm": True}),
        (
            "regression",
            {"num_embedding": "periodic", "embedding_dim": 4, "target_transform": "quantile"},
        ),
        (
            "categories",
            {
                "categorical": "embedding",
                "embedding_dim": 3,
                "num_embedding": "periodic",
                "numeric_preprocessing": "quantile",
                "ensemble_size": 2,
            },
        ),
    ],
)


@STRUCTURES
def test_a_copy_takes_every_tensor_of_its_source_in_every_structure(
    request: pytest.FixtureRequest,
    table_with_categories: Callable[..., PreparedData],
    data_name: str,
    structure: dict,
):
    # Member 1 copies member 0 as it is, member 2 copies it under another learning rate. With no
    # dropout the plain copy is its source from then on (so it took every parameter tensor: an
    # ensemble's scale and heads, the embeddings' frequencies, weights, biases and tables, batch
    # norm's statistics, the optimizer's state); the other follows its new learning rate.
    if data_name == "categories":
        data = table_with_categories("binary", many_categories=True)
    else:
        data = request.getfixturevalue(data_name)
    configs = [BASE.replace(learning_rate=lr, **structure) for lr in (3e-3, 3e-2, 1e-2)]

    def exploit(epoch, values, configs):
        if epoch != 2:
            return []
        return [(1, 0, configs[0]), (2, 0, configs[0].replace(learning_rate=1e-3))]

    first, copy, moved = train_population(configs, data, ready=2, exploit=exploit, device="cpu")
    assert [r.status for r in (first, copy, moved)] == ["ok"] * 3
    assert first.curve[:2] != copy.curve[:2]
    assert first.curve[2:] == copy.curve[2:]  # every field of every epoch, exactly
    assert copy.config == configs[0] and copy.schedule[1]["copied_from"] == 0
    assert moved.config == configs[0].replace(learning_rate=1e-3)
    assert [p.lr for p in moved.curve] == pytest.approx([1e-2] * 2 + [1e-3] * 4)
    assert moved.curve[2].train_loss != first.curve[2].train_loss


def test_one_member_trains_as_its_solo_run(tiny: PreparedData):
    config = BASE.replace(num_embedding="periodic", ensemble_size=2)
    (result,) = train_population([config], tiny, ready=2, exploit=lambda *a: [], device="cpu")
    assert len(result.schedule) == 1
    assert result.curve == train(config, tiny, device="cpu", seed=0).curve
