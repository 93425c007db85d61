"""`train_many` against solo `train` runs, on real data and real torch training (CPU)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from hpo_common.errors import ConfigError
from training import (
    CONVERGED,
    PreparedData,
    TrainConfig,
    TrainResult,
    _stacked_optim,
    build_model,
    train,
    train_many,
)
from training._stacked import DropoutMasks
from training.batched import MAX_GROUP_ELEMENTS, group_key, overhead_bound, plan_groups
from training.config import OPTIMIZERS
from training.metrics import (
    classification_metrics,
    regression_metrics,
    stacked_classification_metrics,
    stacked_regression_metrics,
)
from training.model import draw_keep_mask, dropout_scale

TOL = {"rel": 1e-4, "abs": 1e-5}


def assert_same_run(solo: TrainResult, member: TrainResult) -> None:
    """Same statuses, epochs and curve (up to float rounding) and nothing of the result lost."""
    assert (member.status, member.epochs_run, member.best_epoch, member.error) == (
        solo.status,
        solo.epochs_run,
        solo.best_epoch,
        solo.error,
    )
    assert member.stop_reason == solo.stop_reason
    assert (member.objective, member.direction, member.seed, member.config, member.device) == (
        solo.objective,
        solo.direction,
        solo.seed,
        solo.config,
        solo.device,
    )
    for a, b in zip(solo.curve, member.curve, strict=True):
        assert b.epoch == a.epoch
        assert b.lr == pytest.approx(a.lr, rel=1e-12)
        assert (b.train_loss, b.val_loss, b.val_metric) == pytest.approx(
            (a.train_loss, a.val_loss, a.val_metric), **TOL
        )
    assert member.metrics.keys() == solo.metrics.keys()
    for name, value in solo.metrics.items():
        assert member.metrics[name] == pytest.approx(value, nan_ok=True, **TOL)


ONE_MEMBER = pytest.mark.parametrize(
    "config",
    [
        TrainConfig(max_epochs=4, width=24),
        TrainConfig(
            max_epochs=4,
            width=20,
            optimizer="sgd",
            learning_rate=0.05,
            nesterov=True,
            lr_schedule="cosine",
            warmup_epochs=1,
            dropout=0.3,
            batch_norm=True,
            grad_clip=0.5,
            weight_decay=0.01,
            init="xavier",
            activation="tanh",
            batch_size=32,
        ),
        TrainConfig(max_epochs=3, n_layers=0, optimizer="adagrad", learning_rate=0.1),
    ],
)


@ONE_MEMBER
def test_one_member_is_exactly_its_solo_run(tiny: PreparedData, config: TrainConfig) -> None:
    solo = train(config, tiny, device="cpu", seed=3)
    (member,) = train_many([config], tiny, device="cpu", seed=3)
    assert dataclasses.replace(member, wall_seconds=0.0) == dataclasses.replace(
        solo, wall_seconds=0.0
    )


@ONE_MEMBER
def test_stacked_twins_are_each_their_solo_run(tiny: PreparedData, config: TrainConfig) -> None:
    solo = train(config, tiny, device="cpu", seed=3)
    for member in train_many([config, config], tiny, device="cpu", seed=3):
        assert_same_run(solo, member)


def test_stacked_regression_and_multiclass(
    regression: PreparedData, multiclass: PreparedData
) -> None:
    for data, config in (
        (
            regression,
            TrainConfig(
                max_epochs=4,
                width=32,
                optimizer="adamw",
                weight_decay=0.1,
                lr_schedule="one_cycle",
                dropout=0.1,
                batch_size=64,
            ),
        ),
        (
            multiclass,
            TrainConfig(
                max_epochs=4,
                width=16,
                optimizer="rmsprop",
                momentum=0.5,
                learning_rate=3e-3,
                activation="gelu",
            ),
        ),
    ):
        solo = train(config, data, device="cpu", seed=1)
        batch = train_many([config, config.replace(learning_rate=1e-4)], data, device="cpu", seed=1)
        assert_same_run(solo, batch[0])


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_member_of_a_batch_matches_its_solo_run(
    tiny: PreparedData,
    every_schedule: Callable[[str], list[TrainConfig]],
    optimizer: str,
    fused: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One group per optimizer: every schedule, mixed widths (padded to 28), warm-up, dropout,
    # weight decay, initialisation and clipping per member; updated by the whole-buffer kernels,
    # or (as wide members are) by each member's own fused kernel call.
    monkeypatch.setitem(_stacked_optim.FUSED_FROM, optimizer, 0 if fused else 2**62)
    configs = [
        config.replace(
            dropout=(0.0, 0.2)[i % 2],
            init=("he", "xavier")[i % 2],
            nesterov=optimizer == "sgd" and i % 2 == 0,
            beta1=(0.9, 0.8)[i % 2],
        )
        for i, config in enumerate(every_schedule(optimizer))
    ]
    assert len({group_key(c) for c in configs}) == 1
    batch = train_many(configs, tiny, device="cpu", seed=5)
    for config, member in zip(configs, batch, strict=True):
        assert_same_run(train(config, tiny, device="cpu", seed=5), member)


def test_members_stop_on_their_own(tiny: PreparedData) -> None:
    base = TrainConfig(max_epochs=6, patience=0, width=16, batch_size=32)
    configs = [
        base,
        base.replace(learning_rate=80.0, optimizer="sgd", momentum=0.0),  # diverges
        base.replace(learning_rate=2e-3),  # pruned at epoch 2 by its callback
        base.replace(max_epochs=2),  # ends early by its own epoch budget
        base.replace(learning_rate=3e-4),  # its callback raises at epoch 3
        base.replace(learning_rate=5e-3),  # its callback ends it as converged at epoch 4
    ]

    def broken(epoch: int, value: float) -> bool:
        if epoch == 3:
            raise RuntimeError("callback bug")
        return False

    def converged(epoch: int, value: float) -> bool | str:
        return CONVERGED if epoch == 4 else False

    callbacks = [None, None, lambda epoch, value: epoch >= 2, None, broken, converged]
    results = train_many(configs, tiny, device="cpu", seed=0, callbacks=callbacks)
    assert [r.status for r in results] == ["ok", "diverged", "pruned", "ok", "failed", "ok"]
    assert [r.stop_reason for r in results] == [
        "max_epochs", "diverged", "pruned", "max_epochs", "failed", CONVERGED
    ]  # fmt: skip
    assert [r.epochs_run for r in results] == [6, results[1].epochs_run, 2, 2, 3, 4]
    assert results[1].epochs_run < 6 and results[1].error
    assert results[4].error == "RuntimeError: callback bug"
    # The others trained on unaffected by the members that stopped before them.
    assert_same_run(train(base, tiny, device="cpu", seed=0), results[0])
    for i in (2, 5):
        assert_same_run(
            train(configs[i], tiny, device="cpu", seed=0, callback=callbacks[i]), results[i]
        )
    assert sum(r.wall_seconds for r in results) > 0


def test_padding_and_grouping_give_the_same_runs(tiny: PreparedData) -> None:
    configs = [TrainConfig(max_epochs=3, width=w, dropout=0.1) for w in (33, 35, 40)]
    padded = train_many(configs, tiny, device="cpu", seed=2, pad_widths=True)
    grouped = train_many(configs, tiny, device="cpu", seed=2, pad_widths=False)
    assert len({group_key(c, pad_widths=False) for c in configs}) == 3
    for a, b in zip(grouped, padded, strict=True):
        assert_same_run(a, b)


def test_mixed_groups_keep_input_order(tiny: PreparedData) -> None:
    configs = [
        TrainConfig(max_epochs=2, optimizer="sgd"),
        TrainConfig(max_epochs=2, n_layers=1),
        TrainConfig(max_epochs=2, optimizer="sgd", learning_rate=0.1),
    ]
    results = train_many(configs, tiny, device="cpu", seed=0)
    assert [r.config for r in results] == configs


def test_keep_model_state_loads_into_build_model(tiny: PreparedData) -> None:
    configs = [
        TrainConfig(max_epochs=3, width=w, batch_norm=True, dropout=0.1, optimizer="sgd")
        for w in (12, 16)
    ]
    results = train_many(configs, tiny, device="cpu", seed=0, keep_model=True)
    solo = train(configs[0], tiny, device="cpu", seed=0, keep_model=True)
    for config, result in zip(configs, results, strict=True):
        model = build_model(config, tiny.x_train.shape[1], 2)
        model.load_state_dict(result.model_state)
    assert solo.model_state is not None and results[0].model_state is not None
    assert solo.model_state.keys() == results[0].model_state.keys()
    for name, value in solo.model_state.items():
        torch.testing.assert_close(results[0].model_state[name], value, rtol=1e-4, atol=1e-5)


def test_bad_arguments_are_config_errors(tiny: PreparedData) -> None:
    with pytest.raises(ConfigError, match=r"callbacks must hold one entry per configuration"):
        train_many([TrainConfig()], tiny, callbacks=[None, None])
    with pytest.raises(ConfigError, match=r"configs\[1\] must be a TrainConfig"):
        train_many([TrainConfig(), {"width": 8}], tiny)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="metric for a binary task"):
        train_many([TrainConfig()], tiny, metric="r2")
    assert train_many([], tiny) == []


def test_group_wide_dropout_draw_keeps_each_members_rate() -> None:
    # The path taken off CPU (one draw for the group), exercised here on CPU.
    masks = DropoutMasks([0.0, 0.25, 0.5], [], [64, 64, 64], torch.device("cpu"), 0, exact=False)
    out = masks.apply(torch.ones(3, 2000, 64), 0)
    for member, rate in enumerate((0.0, 0.25, 0.5)):
        dropped = (out[member] == 0).float().mean().item()
        assert dropped == pytest.approx(rate, abs=0.01)
        assert out[member].mean().item() == pytest.approx(1.0, abs=0.02)
    assert math.isclose(out[0].min().item(), 1.0)


def test_exact_dropout_masks_are_each_members_solo_draw_and_zero_in_padding() -> None:
    # Members of widths 6 (padded to 8), 8 and 7 (no dropout); 5 rows: 30 and 40 levels, not
    # multiples of four, so each member's words end part-used, as `draw_keep_mask`'s do.
    rates, widths = [0.3, 0.5, 0.0], [6, 8, 7]
    states = [torch.Generator().manual_seed(s).get_state() for s in (1, 2, 3)]
    masks = DropoutMasks(rates, states, widths, torch.device("cpu"), 0, exact=True)
    solo = [torch.Generator().set_state(state) for state in states]
    for _ in range(2):  # the buffers are reused: the second step draws on from each stream
        out = masks.apply(torch.ones(3, 5, 8), 0)
        for member, (rate, width) in enumerate(zip(rates, widths, strict=True)):
            expected = torch.ones(5, width)
            if rate:
                draw_keep_mask(expected, rate, solo[member]).mul_(dropout_scale(rate))
            assert torch.equal(out[member, :, :width], expected)
            assert not out[member, :, width:].any()
    assert 0 < (out[:2] == 0).sum() < out[:2].numel()


def test_narrow_members_are_padded_together_wide_ones_apart(tiny: PreparedData) -> None:
    base = TrainConfig(batch_size=128)
    widths = (16, 20, 24, 300, 320, 600, 1000)
    configs = [dataclasses.replace(base, width=w) for w in (1000, 16, 600, 24, 320, 20, 300)]
    groups = plan_groups(configs, tiny, device="cpu")
    assert sorted(sorted(configs[i].width for i in g) for g in groups) == [
        [16, 20, 24], [300, 320], [600], [1000]
    ]  # fmt: skip
    assert sorted(i for g in groups for i in g) == list(range(len(widths)))
    exact = plan_groups(configs, tiny, device="cpu", pad_widths=False)
    assert len(exact) == len(widths)


def test_overhead_bound_members_are_the_ones_padded_together(tiny: PreparedData) -> None:
    narrow, wide = TrainConfig(batch_size=128, width=16), TrainConfig(batch_size=128, width=1000)
    assert overhead_bound(narrow, tiny) and not overhead_bound(wide, tiny)
    # the ones padded together are the overhead-bound ones (the test above's widths)
    groups = plan_groups([narrow, narrow.replace(width=24), wide], tiny, device="cpu")
    assert sorted(len(g) for g in groups) == [1, 2]


def test_cpu_groups_keep_a_layers_activations_under_the_cache_bound(cancer: PreparedData) -> None:
    width = MAX_GROUP_ELEMENTS["cpu"] // (256 * 3)  # 3 members x 256 rows x width fill it
    base = TrainConfig(batch_size=256, width=width)
    configs = [base.replace(learning_rate=0.001 * (i + 1)) for i in range(8)]
    groups = plan_groups(configs, cancer, device="cpu")
    assert [len(g) for g in groups] == [3, 3, 2]
    assert sorted(i for g in groups for i in g) == list(range(8))


def test_stacked_metrics_are_each_members_metrics() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    proba = rng.dirichlet(np.ones(3), size=(4, 60))
    for task, labels in (("multiclass", y), ("binary", y % 2)):
        p = proba if task == "multiclass" else np.stack([proba[..., 0], 1 - proba[..., 0]], 2)
        stacked = stacked_classification_metrics(labels, p, task)
        for member, metrics in zip(p, stacked, strict=True):
            assert metrics == pytest.approx(classification_metrics(labels, member, task))
    target, pred = rng.normal(size=50), rng.normal(size=(3, 50))
    for member, metrics in zip(pred, stacked_regression_metrics(target, pred), strict=True):
        assert metrics == pytest.approx(regression_metrics(target, member))


RECIPE_GROUPS = pytest.mark.parametrize(
    ("task", "recipe"),
    [
        ("binary", {"numeric_preprocessing": "robust", "label_smoothing": 0.1}),
        ("binary", {"numeric_preprocessing": "quantile", "categorical": "embedding"}),
        ("regression", {"numeric_preprocessing": "quantile", "target_transform": "quantile"}),
        ("regression", {"numeric_preprocessing": "robust", "target_transform": "none"}),
    ],
)


@RECIPE_GROUPS
def test_members_sharing_a_recipe_stack_and_match_their_solo_runs(
    task: str, recipe: dict, table_with_categories: Callable[..., PreparedData]
) -> None:
    data = table_with_categories(task)
    base = TrainConfig(max_epochs=3, patience=0, width=16, batch_size=32, **recipe)
    configs = [
        base,
        base.replace(learning_rate=3e-3, dropout=0.2, width=12),
        base.replace(learning_rate=1e-2, weight_decay=1e-3, lr_schedule="cosine"),
    ]
    assert plan_groups(configs, data) == [[1, 0, 2]]  # one stacked model (by width)
    batch = train_many(configs, data, device="cpu", seed=4)
    for config, member in zip(configs, batch, strict=True):
        assert_same_run(train(config, data, device="cpu", seed=4), member)


def test_different_recipes_go_to_different_groups(
    table_with_categories: Callable[..., PreparedData],
) -> None:
    data = table_with_categories("binary")
    base = TrainConfig(max_epochs=1, width=16)
    configs = [
        base,
        base.replace(numeric_preprocessing="robust"),
        base.replace(label_smoothing=0.1),
        base.replace(target_transform="none"),  # ignored by classification: stacks with base
        base.replace(numeric_preprocessing="robust", learning_rate=1e-2),
        base.replace(ensemble_size=4),  # another structure: another group
        base.replace(num_embedding="periodic"),
    ]
    assert sorted(plan_groups(configs, data)) == [[0, 3], [1, 4], [2], [5], [6]]
    regression = table_with_categories("regression")
    assert len(plan_groups(configs[:4], regression)) == 3  # now label smoothing is ignored
    # categorical embeddings stack whether or not the table has columns to embed, by their size
    embedded = [base.replace(categorical="embedding"), base.replace(categorical="embedding")]
    assert plan_groups(embedded, data) == [[0, 1]]
    wide = table_with_categories("binary", many_categories=True)
    assert plan_groups(embedded, wide) == [[0, 1]]
    assert len(plan_groups([embedded[0], embedded[1].replace(embedding_dim=4)], wide)) == 2


@pytest.mark.parametrize("task", ["binary", "regression"])
@pytest.mark.parametrize(
    "structure",
    [{}, {"num_embedding": "periodic", "ensemble_size": 4}],
)
def test_categorical_embeddings_stack_and_match_their_solo_runs(
    task: str, structure: dict, table_with_categories: Callable[..., PreparedData]
) -> None:
    data = table_with_categories(task, many_categories=True)
    base = TrainConfig(
        max_epochs=3,
        patience=0,
        width=16,
        batch_size=32,
        categorical="embedding",
        embedding_dim=6,
        **structure,
    )
    configs = [
        base,
        base.replace(learning_rate=3e-3, dropout=0.2, width=12),
        base.replace(learning_rate=1e-2, weight_decay=1e-3, lr_schedule="cosine"),
    ]
    assert plan_groups(configs, data) == [[1, 0, 2]]
    batch = train_many(configs, data, device="cpu", seed=4, keep_model=True)
    for config, member in zip(configs, batch, strict=True):
        solo = train(config, data, device="cpu", seed=4, keep_model=True)
        assert_same_run(solo, member)
        assert solo.model_state is not None and member.model_state is not None
        assert solo.model_state.keys() == member.model_state.keys()


STRUCTURES = pytest.mark.parametrize(
    "structure",
    [
        {"ensemble_size": 4},
        {"num_embedding": "periodic", "embedding_dim": 6},
        {"num_embedding": "periodic", "embedding_dim": 4, "ensemble_size": 4},
    ],
)


@STRUCTURES
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_structural_members_stack_and_match_their_solo_runs(
    tiny: PreparedData, structure: dict, optimizer: str
) -> None:
    # Plain members and structural ones in one call: one stacked model each, widths padded,
    # dropout drawn from each member's own stream; batch norm with sgd (see `train_many`'s
    # docstring on batch norm under adaptive optimizers).
    base = TrainConfig(
        optimizer=optimizer,
        learning_rate=(1e-2, 0.05)[optimizer == "sgd"],
        max_epochs=3,
        patience=0,
        width=16,
        batch_size=32,
        batch_norm=optimizer == "sgd",
    )
    plain = [base, base.replace(dropout=0.2, width=12, lr_schedule="cosine")]
    structural = [
        base.replace(**structure),
        base.replace(**structure, dropout=0.3, width=12, weight_decay=1e-3, grad_clip=0.5),
        base.replace(**structure, learning_rate=3e-3, init="xavier", warmup_epochs=1),
    ]
    configs = [plain[0], *structural[:2], plain[1], structural[2]]
    assert sorted(map(sorted, plan_groups(configs, tiny))) == [[0, 3], [1, 2, 4]]
    batch = train_many(configs, tiny, device="cpu", seed=6)
    for config, member in zip(configs, batch, strict=True):
        assert_same_run(train(config, tiny, device="cpu", seed=6), member)


@STRUCTURES
def test_structural_members_on_regression_and_multiclass(
    regression: PreparedData, multiclass: PreparedData, structure: dict
) -> None:
    # the ensemble's prediction: the members' mean value, or the log of their mean probabilities
    for data in (regression, multiclass):
        base = TrainConfig(max_epochs=3, width=16, batch_size=64, dropout=0.1, **structure)
        configs = [base, base.replace(learning_rate=3e-3, width=20)]
        assert len(plan_groups(configs, data)) == 1
        batch = train_many(configs, data, device="cpu", seed=2)
        for config, member in zip(configs, batch, strict=True):
            assert_same_run(train(config, data, device="cpu", seed=2), member)


def test_structure_splits_groups_where_shapes_differ(tiny: PreparedData) -> None:
    base = TrainConfig(width=16)
    configs = [
        base.replace(ensemble_size=4),
        base.replace(ensemble_size=8),
        base.replace(ensemble_size=4, learning_rate=1e-2),
        base.replace(num_embedding="periodic", embedding_dim=8),
        base.replace(num_embedding="periodic", embedding_dim=16),
        base.replace(num_embedding="periodic", embedding_dim=8, dropout=0.1),
        base.replace(embedding_dim=16),  # no periodic embedding: its size is unused
        base,
    ]
    assert sorted(map(sorted, plan_groups(configs, tiny))) == [
        [0, 2], [1], [3, 5], [4], [6, 7]
    ]  # fmt: skip


def test_structural_model_state_loads_into_build_model(tiny: PreparedData) -> None:
    configs = [
        TrainConfig(
            max_epochs=2,
            width=w,
            batch_norm=True,
            dropout=0.1,
            optimizer="sgd",
            num_embedding="periodic",
            embedding_dim=4,
            ensemble_size=4,
        )
        for w in (12, 16)
    ]
    results = train_many(configs, tiny, device="cpu", seed=0, keep_model=True)
    solo = train(configs[0], tiny, device="cpu", seed=0, keep_model=True)
    for config, result in zip(configs, results, strict=True):
        build_model(config, tiny.x_train.shape[1], 2).load_state_dict(result.model_state)
    assert solo.model_state is not None and results[0].model_state is not None
    assert solo.model_state.keys() == results[0].model_state.keys()
    for name, value in solo.model_state.items():
        torch.testing.assert_close(results[0].model_state[name], value, rtol=1e-4, atol=1e-5)
