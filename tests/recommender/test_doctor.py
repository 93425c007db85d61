"""`doctor`: each check on data built to trip it, and on data that should pass."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_classification
from torch import nn
from typer.testing import CliRunner

from recommender.cli import app
from recommender.doctor import (
    STATUSES,
    check_columns,
    check_gradients,
    check_init,
    check_leakage,
    check_loss_curve,
    check_lr_range,
    check_overfit_batch,
    check_scale,
    check_target,
    doctor,
    read_curve,
)
from training import TrainConfig, build_model, load_table, prepare

SMALL = TrainConfig(width=32, max_epochs=15, learning_rate=1e-2)


def _clean_csv(path, rows: int = 400) -> str:
    x, y = make_classification(n_samples=rows, n_features=6, n_informative=4, random_state=0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    frame["label"] = np.where(y == 1, "yes", "no")
    frame.to_csv(path, index=False)
    return str(path)


def _tripping_csv(path) -> str:
    """Imbalanced, a leaked copy of the label, a row counter, a near-constant column and a
    column spanning eight orders of magnitude."""
    rng = np.random.default_rng(0)
    n = 400
    label = np.where(np.arange(n) < 12, "fraud", "ok")
    rng.shuffle(label)
    frame = pd.DataFrame({
        "amount": rng.normal(size=n),
        "refund_flag": (label == "fraud").astype(int),  # known only after the fact
        "counter": np.arange(n) * 3 + 7,
        "region": np.where(np.arange(n) == 5, "north", "south"),
        "income": 10 ** rng.uniform(0, 8, n),
        "label": label,
    })
    frame.to_csv(path, index=False)
    return str(path)


def _small_config(tmp_path) -> str:
    path = tmp_path / "cfg.json"
    path.write_text(SMALL.to_json())
    return str(path)


def test_clean_data_and_a_sane_config_pass_every_check(tmp_path):
    result = CliRunner().invoke(app, ["doctor", _clean_csv(tmp_path / "clean.csv"), "--config",
                                      _small_config(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    statuses = {c["name"]: c["status"] for c in payload["checks"]}
    assert list(statuses) == ["target", "leakage", "columns", "scale", "init", "gradient_check",
                              "overfit_batch", "lr_range", "loss_curve"]
    assert set(statuses.values()) == {"pass"}, payload["checks"]
    assert payload["failed"] is False
    grad = next(c for c in payload["checks"] if c["name"] == "gradient_check")
    assert max(grad["details"]["relative_error"].values()) < 1e-7


def test_data_built_to_trip_the_data_checks_fails_with_reasons(tmp_path):
    path = _tripping_csv(tmp_path / "trips.csv")
    result = CliRunner().invoke(app, ["doctor", path, "--target", "label", "--config",
                                      _small_config(tmp_path)])
    assert result.exit_code == 1, result.output  # the leak is a failure
    assert "Traceback" not in result.output and "refund_flag" in result.stdout

    table = load_table(path, target="label")
    target = check_target(table)
    assert target.status == "warn" and "'fraud' is 3.0% of rows (1:32)" in target.reason
    leak = check_leakage(table)
    assert leak.status == "fail" and list(leak.details["suspects"]) == ["refund_flag"]
    assert "'refund_flag' alone predict(s) 'label' almost perfectly" in leak.reason
    columns = check_columns(table)
    assert columns.status == "warn"
    assert columns.details["near_constant"] == ["region"]
    assert columns.details["id_like"] == ["counter"]
    scale = check_scale(table)
    assert scale.status == "warn" and list(scale.details["extreme"]) == ["income"]
    assert "orders of magnitude" in scale.reason and scale.advice


def test_regression_target_skew_and_leak(tmp_path):
    rng = np.random.default_rng(1)
    y = np.exp(rng.normal(0, 2, 300))
    frame = pd.DataFrame({"x": rng.normal(size=300), "y_copy": y * 2 + 1, "y": y})
    table = load_table(frame, target="y")
    assert check_target(table).status == "warn"
    leak = check_leakage(table)
    assert leak.status == "fail" and "y_copy" in leak.details["suspects"]


def _batch(rows: int = 256, features: int = 8) -> torch.Tensor:
    return torch.randn(rows, features, generator=torch.Generator().manual_seed(0))


def test_init_check_passes_he_and_flags_exploding_and_saturated_layers():
    torch.manual_seed(0)
    x = _batch()
    good = check_init(build_model(TrainConfig(n_layers=4, width=64), 8, 2), x)
    assert good.status == "pass" and len(good.details["activation_std"]) == 4

    exploding = build_model(TrainConfig(n_layers=4, width=64), 8, 2)
    with torch.no_grad():
        for module in exploding:
            if isinstance(module, nn.Linear):
                module.weight.mul_(20.0)  # a hand-rolled init far too wide
    bad = check_init(exploding, x)
    assert bad.status == "fail" and "collapses or explodes" in bad.reason and bad.advice

    saturated = build_model(TrainConfig(n_layers=3, width=64, activation="tanh",
                                        init="xavier"), 8, 2)
    with torch.no_grad():
        saturated[0].weight.mul_(100.0)
    warn = check_init(saturated, x)
    assert warn.status == "warn" and "dead or saturated" in warn.reason


class _WrongBackward(torch.autograd.Function):
    """tanh whose backward forgets the derivative of tanh."""

    @staticmethod
    def forward(ctx, x):
        return torch.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class _Broken(nn.Module):
    def forward(self, x):
        return _WrongBackward.apply(x)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_gradient_check_passes_a_real_model_and_fails_a_wrong_backward(task):
    torch.manual_seed(0)
    x = _batch(16)
    y = (torch.arange(16) % 2) if task == "binary" else torch.randn(16)
    outputs = 2 if task == "binary" else 1
    model = build_model(TrainConfig(n_layers=2, width=32, activation="gelu", dropout=0.2,
                                    batch_norm=True), 8, outputs)
    good = check_gradients(model, x, y, task)
    assert good.status == "pass", good.reason
    broken = nn.Sequential(nn.Linear(8, 16), _Broken(), nn.Linear(16, outputs)).double().float()
    bad = check_gradients(broken, x, y, task)
    assert bad.status == "fail" and "backpropagation is wrong" in bad.reason
    assert bad.details["relative_error"]["0.weight"] > 1e-4


def _contradictory(rows: int = 200):
    """Two binary features, labels independent of them: one batch cannot be memorised."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 2, rows), "b": rng.integers(0, 2, rows),
                          "y": rng.choice(["p", "q"], rows)})
    return prepare(load_table(frame, target="y"))


def test_overfit_one_batch_passes_real_features_and_fails_contradicting_rows(tmp_path):
    clean = prepare(load_table(_clean_csv(tmp_path / "c.csv"), target="label"))
    assert check_overfit_batch(SMALL, clean).status == "pass"
    bad = check_overfit_batch(SMALL, _contradictory())
    assert bad.status == "fail" and "cannot even memorise" in bad.reason
    assert bad.details["final_loss"] > 0.3


def test_lr_range_and_loss_curve_read_too_low_and_too_high(tmp_path):
    data = prepare(load_table(_clean_csv(tmp_path / "c.csv"), target="label"))
    slow = SMALL.replace(optimizer="sgd", learning_rate=1e-5, momentum=0.0)
    lr = check_lr_range(slow, data)
    assert lr.status == "warn" and "below it" in lr.reason and lr.advice.startswith(
        "try learning_rate=")
    curve = check_loss_curve(slow, data)
    assert curve.status == "warn" and curve.details["verdict"] == "too low"
    wild = SMALL.replace(optimizer="sgd", learning_rate=50.0, momentum=0.9)
    exploded = check_loss_curve(wild, data)
    assert exploded.status == "fail" and exploded.details["verdict"] == "too high"


def test_read_curve_shapes():
    assert read_curve([1.0, 0.5, 0.35, 0.3, 0.29, 0.28])[0] == "about right"
    assert read_curve([1.0, 0.98, 0.96, 0.94, 0.92, 0.90])[0] == "too low"
    assert read_curve([0.76, 0.75, 0.75, 0.74, 0.76, 0.75])[0] == "too low"  # noise, no jumps
    assert read_curve([1.0, 0.6, 0.9, 0.5, 1.1, 0.7])[0] == "too high"
    assert read_curve([1.0, 0.5, float("nan")])[0] == "too high"


def test_doctor_api_report_and_config_file_errors(tmp_path):
    report = doctor(_clean_csv(tmp_path / "c.csv", rows=200), config=SMALL)
    assert all(c.status in STATUSES and c.reason for c in report.checks)
    assert report.check("loss_curve").details["train_loss"]
    bad = tmp_path / "cfg.json"
    bad.write_text('{"learning_rate": -1}')
    result = CliRunner().invoke(app, ["doctor", str(tmp_path / "c.csv"), "--config", str(bad)])
    assert result.exit_code == 2 and "learning_rate" in result.stderr
    assert "Traceback" not in result.output
