"""`doctor`: every check on one dataset and configuration, before a long tune."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from recommender.doctor._data import check_columns, check_leakage, check_scale, check_target
from recommender.doctor._model import check_gradients, check_init
from recommender.doctor._report import DoctorReport
from recommender.doctor._training import check_loss_curve, check_lr_range, check_overfit_batch
from training import PreparedData, TrainConfig, build_model, load_table, prepare

MAX_TRAIN_ROWS = 2000  # the training checks look at this many training rows at most
INIT_ROWS = 256
GRAD_ROWS = 16


def doctor(
    data: str | Path,
    target: str | None = None,
    config: TrainConfig | None = None,
    *,
    task: str | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> DoctorReport:
    """Check the data and the configuration's network before tuning: plain-word verdicts.

    Data (target balance, leakage, useless columns, scale), initialisation (activation
    statistics), a gradient check in double precision, overfit-one-batch, the learning-rate range
    test and a short run's loss curve. The training checks use at most `MAX_TRAIN_ROWS` rows.

    Example:
        >>> report = doctor("examples/wine.csv", target="cultivar")  # doctest: +SKIP
        >>> [(c.name, c.status) for c in report.checks]  # doctest: +SKIP
    """
    config = config or TrainConfig()
    table = load_table(data, target=target, task=task)
    checks = [check_target(table), check_leakage(table, seed), check_columns(table),
              check_scale(table)]
    prepared = _capped(prepare(table, seed=seed))
    torch.manual_seed(seed)
    n_outputs = 1 if table.task == "regression" else prepared.n_classes
    model = build_model(config, prepared.x_train.shape[1], n_outputs)
    x = torch.from_numpy(prepared.x_train)
    y = torch.from_numpy(prepared.y_train)
    checks += [
        check_init(model, x[:INIT_ROWS]),
        check_gradients(model, x[:GRAD_ROWS], y[:GRAD_ROWS], table.task, seed),
        check_overfit_batch(config, prepared, device=device, seed=seed),
        check_lr_range(config, prepared, device=device, seed=seed),
        check_loss_curve(config, prepared, device=device, seed=seed),
    ]
    return DoctorReport(dataset=table.name, task=table.task, rows=table.n_rows,
                        features=table.n_features, config=config.to_dict(),
                        checks=tuple(checks), notes=table.notes)


def _capped(data: PreparedData) -> PreparedData:
    """At most `MAX_TRAIN_ROWS` training rows (the split's order is already shuffled)."""
    return dataclasses.replace(data, x_train=data.x_train[:MAX_TRAIN_ROWS],
                               y_train=data.y_train[:MAX_TRAIN_ROWS])
