"""`hpo-recommend doctor`: sanity checks to run before any tuning, each a pass/warn/fail verdict
with a one-line reason and what to do.

- data (`_data`): target balance, leakage suspects, near-constant / ID-like columns, scale;
- the untrained network (`_model`): activation statistics at init, a double-precision gradient
  check;
- training (`_training`): overfit one batch, the learning-rate range test, a short run's loss
  curve read as "too low / about right / too high".
"""

from __future__ import annotations

from recommender.doctor._data import check_columns, check_leakage, check_scale, check_target
from recommender.doctor._model import check_gradients, check_init
from recommender.doctor._report import STATUSES, Check, DoctorReport
from recommender.doctor._run import doctor
from recommender.doctor._training import (
    check_loss_curve,
    check_lr_range,
    check_overfit_batch,
    read_curve,
)

__all__ = [
    "STATUSES",
    "Check",
    "DoctorReport",
    "check_columns",
    "check_gradients",
    "check_init",
    "check_leakage",
    "check_loss_curve",
    "check_lr_range",
    "check_overfit_batch",
    "check_scale",
    "check_target",
    "doctor",
    "read_curve",
]
