from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, log_loss, roc_auc_score

from hpo_common.errors import ConfigError, DataError
from training import (
    CONVERGED,
    METRIC_DIRECTIONS,
    PreparedData,
    TrainConfig,
    build_model,
    default_metric,
    lr_at,
    metrics_for,
    train,
    train_cv,
)
from training.config import ACTIVATIONS, LR_SCHEDULES, OPTIMIZERS
from training.metrics import classification_metrics
from training.model import FUSED_DEVICES, build_optimizer
from training.schedules import peak_epoch

FAST = {"max_epochs": 1, "width": 16, "batch_size": 32}


def test_classification_beats_majority_baseline(cancer: PreparedData) -> None:
    result = train(TrainConfig(max_epochs=15, width=64), cancer, metric="accuracy")
    majority = max(np.mean(cancer.y_val), 1 - np.mean(cancer.y_val))
    assert result.status == "ok"
    assert result.metrics["accuracy"] > majority + 0.2
    assert result.metrics["roc_auc"] > 0.95
    assert set(result.metrics) == set(metrics_for("binary"))


def test_regression_beats_mean_baseline_in_original_units(regression: PreparedData) -> None:
    result = train(TrainConfig(max_epochs=30, width=64, learning_rate=3e-3), regression)
    baseline_rmse = float(np.std(regression.y_val))
    assert result.status == "ok" and result.objective == "r2"
    assert result.value > 0.5
    assert result.metrics["rmse"] < 0.7 * baseline_rmse  # units of the raw target, not scaled


def test_multiclass_has_no_roc_auc_and_learns(multiclass: PreparedData) -> None:
    result = train(TrainConfig(max_epochs=10, width=32), multiclass, metric="accuracy")
    assert set(result.metrics) == {"log_loss", "accuracy", "balanced_accuracy"}
    assert result.value > 0.5  # 3 balanced classes: chance is 1/3


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains(tiny: PreparedData, optimizer: str) -> None:
    result = train(TrainConfig(optimizer=optimizer, learning_rate=0.01, **FAST), tiny)
    assert result.status == "ok" and math.isfinite(result.value)


@pytest.mark.parametrize("schedule", LR_SCHEDULES)
def test_every_schedule_trains(tiny: PreparedData, schedule: str) -> None:
    cfg = TrainConfig(lr_schedule=schedule, warmup_epochs=1, **{**FAST, "max_epochs": 2})
    result = train(cfg, tiny)
    assert result.status == "ok" and result.epochs_run == 2
    assert all(0 < p.lr <= cfg.learning_rate for p in result.curve)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_every_activation_trains(tiny: PreparedData, activation: str, batch_norm: bool) -> None:
    cfg = TrainConfig(activation=activation, batch_norm=batch_norm, dropout=0.2, **FAST)
    result = train(cfg, tiny)
    assert result.status == "ok" and math.isfinite(result.value)


def test_model_shape_follows_config() -> None:
    linear = build_model(TrainConfig(n_layers=0), n_features=7, n_outputs=3)
    assert [type(m).__name__ for m in linear] == ["Linear"]
    deep = build_model(
        TrainConfig(n_layers=2, width=8, batch_norm=True, dropout=0.1, init="xavier"), 7, 1
    )
    names = [type(m).__name__ for m in deep]
    assert names == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert deep(torch.zeros(4, 7)).shape == (4, 1)


def test_dropout_keeps_units_at_one_minus_rate_scaled_up_and_is_off_in_eval() -> None:
    dropout = build_model(TrainConfig(n_layers=1, width=4, dropout=0.3), 2, 1)[2]
    x = torch.ones(400, 500)
    out = dropout(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005  # 200,000 draws: 5 standard errors
    assert torch.equal(out[kept], torch.full_like(out[kept], 1.0 / 0.7))
    assert not torch.equal(dropout(x), out)  # a new mask every call
    assert torch.equal(dropout.eval()(x), x)


def test_huge_learning_rate_diverges_without_exception(cancer: PreparedData) -> None:
    cfg = TrainConfig(optimizer="sgd", learning_rate=10, max_epochs=5, batch_size=32)
    result = train(cfg, cancer)
    assert result.status == result.stop_reason == "diverged"
    assert result.error and result.epochs_run >= 1 and len(result.curve) == result.epochs_run
    assert result.epochs_run < 5


def test_same_seed_same_result_on_cpu(tiny: PreparedData) -> None:
    cfg = TrainConfig(max_epochs=3, width=16, dropout=0.3, batch_size=16)
    first = train(cfg, tiny, device="cpu", seed=7)
    second = train(cfg, tiny, device="cpu", seed=7)
    other = train(cfg, tiny, device="cpu", seed=8)
    assert first.curve == second.curve and first.metrics == second.metrics
    assert first.curve != other.curve


def test_callback_prunes(tiny: PreparedData) -> None:
    seen: list[tuple[int, float]] = []

    def pruner(epoch: int, value: float) -> bool:
        seen.append((epoch, value))
        return epoch == 2

    result = train(TrainConfig(max_epochs=10, width=16), tiny, callback=pruner)
    assert result.status == "pruned" and result.epochs_run == 2
    assert result.stop_reason == "pruned"
    assert [e for e, _ in seen] == [1, 2]
    assert seen[1][1] == result.curve[1].val_metric


def test_a_callback_that_answers_converged_ends_the_run_as_finished(tiny: PreparedData) -> None:
    """Not pruned: the best epoch so far is the run's result, status "ok"."""
    config = TrainConfig(max_epochs=10, width=16)
    result = train(config, tiny, callback=lambda epoch, value: CONVERGED if epoch == 3 else False)
    assert result.status == "ok" and result.epochs_run == 3
    assert result.stop_reason == CONVERGED  # so curve learning can tell it from a natural stop
    full = train(config, tiny)
    assert full.stop_reason == "max_epochs"
    assert result.curve == full.curve[:3]
    best = min(full.curve[:3], key=lambda stats: stats.val_metric)  # log loss: lower is better
    assert (result.best_epoch, result.value) == (best.epoch, best.val_metric)


def test_early_stopping_on_a_plateau(tiny: PreparedData) -> None:
    # lr 1e-9: nothing changes, so the objective never improves after epoch 1.
    cfg = TrainConfig(max_epochs=50, patience=3, learning_rate=1e-9, width=16)
    result = train(cfg, tiny)
    assert result.status == "ok" and result.stop_reason == "patience"
    assert result.epochs_run == result.best_epoch + 3 < 50


def test_best_epoch_metrics_and_direction(tiny: PreparedData) -> None:
    result = train(TrainConfig(max_epochs=6, width=16, patience=0), tiny, metric="roc_auc")
    assert result.direction == METRIC_DIRECTIONS["roc_auc"] == "maximize"
    values = [p.val_metric for p in result.curve]
    assert result.value == max(values) == result.metrics["roc_auc"]
    assert result.curve[result.best_epoch - 1].val_metric == result.value


def test_keep_model_returns_loadable_best_state(tiny: PreparedData) -> None:
    cfg = TrainConfig(max_epochs=2, width=16)
    result = train(cfg, tiny, keep_model=True)
    model = build_model(cfg, tiny.x_train.shape[1], 2)
    model.load_state_dict(result.model_state)
    assert all(t.device.type == "cpu" for t in result.model_state.values())
    assert train(cfg, tiny).model_state is None


def test_invalid_metric_names_valid_ones(tiny: PreparedData, regression: PreparedData) -> None:
    with pytest.raises(ConfigError, match="log_loss, accuracy, balanced_accuracy, roc_auc"):
        train(TrainConfig(max_epochs=1), tiny, metric="r2")
    with pytest.raises(ConfigError, match="r2, rmse, mae"):
        train(TrainConfig(max_epochs=1), regression, metric="accuracy")
    assert default_metric("binary") == "log_loss" and default_metric("regression") == "r2"


def test_bad_device_and_bad_data_raise_input_errors(tiny: PreparedData) -> None:
    with pytest.raises(ConfigError, match="device"):
        train(TrainConfig(max_epochs=1), tiny, device="tpu")
    empty = PreparedData(
        np.zeros((0, 5), np.float32), np.zeros(0, np.int64), tiny.x_val, tiny.y_val, "binary", 2
    )
    with pytest.raises(DataError, match="x_train"):
        train(TrainConfig(max_epochs=1), empty)


def test_error_inside_the_run_is_a_failed_status(tiny: PreparedData) -> None:
    # Batch norm cannot normalise a batch of one row: torch raises inside the loop.
    cfg = TrainConfig(max_epochs=2, width=8, batch_norm=True, batch_size=1)
    result = train(cfg, tiny)
    assert result.status == "failed" and "Expected more than 1 value" in result.error
    assert result.best_epoch == 0 and math.isnan(result.value) and result.epochs_run == 0


def test_labels_out_of_range_are_a_data_error(tiny: PreparedData) -> None:
    broken = PreparedData(tiny.x_train, tiny.y_train + 5, tiny.x_val, tiny.y_val, "binary", 2)
    with pytest.raises(DataError, match=r"y_train must hold class indices in \[0, 2\)"):
        train(TrainConfig(max_epochs=1), broken)


def test_result_to_dict_is_plain(tiny: PreparedData) -> None:
    result = train(TrainConfig(max_epochs=1, width=8), tiny, keep_model=True)
    payload = result.to_dict()
    assert "model_state" not in payload
    assert payload["config"]["width"] == 8 and payload["curve"][0]["epoch"] == 1


def test_train_cv_summarises_folds(tiny: PreparedData, multiclass: PreparedData) -> None:
    cv = train_cv(TrainConfig(max_epochs=2, width=8), [tiny, tiny], metric="accuracy")
    assert len(cv.folds) == 2 and cv.n_ok == 2
    assert cv.mean == pytest.approx(np.mean([r.value for r in cv.folds]))
    assert cv.std == pytest.approx(0.0)  # same fold, same seed


def test_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.random(200), 1)  # many ties
    proba = np.column_stack([1 - score, score])
    ours = classification_metrics(y, proba, "binary")
    assert ours["roc_auc"] == pytest.approx(roc_auc_score(y, score))
    assert ours["log_loss"] == pytest.approx(log_loss(y, np.clip(proba, 1e-15, 1)))
    assert ours["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, score > 0.5))
    assert math.isnan(classification_metrics(np.zeros(3, int), proba[:3], "binary")["roc_auc"])


@pytest.mark.parametrize("schedule", LR_SCHEDULES)
@pytest.mark.parametrize("warmup", [0, 3])
def test_peak_epoch_is_where_the_rise_of_the_schedule_ends(schedule: str, warmup: int) -> None:
    cfg = TrainConfig(learning_rate=1.0, lr_schedule=schedule, max_epochs=20, warmup_epochs=warmup)
    rates = np.array([lr_at(cfg, s, total_steps=200, steps_per_epoch=10) for s in range(200)])
    after_warmup = rates[warmup * 10 :]
    # The first step after the warm-up at the full learning rate, where a decay can begin.
    first = warmup * 10 + int(np.argmax(after_warmup >= 1.0 - 1e-3))
    assert peak_epoch(schedule, warmup, 20) == pytest.approx((first + 1) / 10, abs=0.11)


def test_schedule_shapes() -> None:
    def curve(schedule: str, warmup: int = 0) -> list[float]:
        cfg = TrainConfig(
            learning_rate=1.0, lr_schedule=schedule, max_epochs=10, warmup_epochs=warmup
        )
        return [lr_at(cfg, s, total_steps=100, steps_per_epoch=10) for s in range(100)]

    assert curve("constant") == [1.0] * 100
    assert curve("step")[0] == 1.0 and curve("step")[99] == 0.125
    assert curve("multistep")[60] == pytest.approx(0.1) and curve("multistep")[80] == pytest.approx(
        0.01
    )
    assert curve("cosine")[0] == 1.0 and curve("cosine")[99] < 0.01
    assert curve("linear")[50] == pytest.approx(0.5)
    assert curve("exponential")[99] == pytest.approx(0.01, rel=0.05)
    one_cycle = curve("one_cycle")
    assert one_cycle[0] == pytest.approx(1 / 25) and max(one_cycle) == pytest.approx(1.0, rel=1e-3)
    cyclic = curve("cyclic")
    assert (
        cyclic[0] == pytest.approx(0.1)
        and cyclic[20] == pytest.approx(1.0)
        and cyclic[40] == pytest.approx(0.1)
    )
    warm = curve("cosine", warmup=2)
    assert warm[:3] == pytest.approx([0.05, 0.1, 0.15]) and warm[19] == 1.0 and warm[20] == 1.0


def test_cpu_threads_for_uses_one_thread_for_tiny_steps_and_restores() -> None:
    import torch

    from training.device import cpu_threads_for

    before = torch.get_num_threads()
    with cpu_threads_for(torch.device("cpu"), step_flops=1e3):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_fused_kernels_only_where_torch_has_them(optimizer: str, device: str) -> None:
    # torch's fused Adagrad is CPU-only and RMSprop has none: asking for one fails every run.
    params = [torch.nn.Parameter(torch.zeros(3))]  # on CPU: the device only decides the kernel
    chosen = build_optimizer(TrainConfig(optimizer=optimizer), params, torch.device(device))
    assert bool(chosen.defaults.get("fused")) == (device in FUSED_DEVICES.get(optimizer, ()))
    assert not (optimizer == "adagrad" and device == "cuda" and chosen.defaults.get("fused"))
