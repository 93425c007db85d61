"""Tables to tensors, the hyperparameter config, the MLP and its fast training loop.

Knows nothing of search or of the knowledge base.
"""

from __future__ import annotations

from training.config import TrainConfig
from training.data import TASKS, PreparedData, Table
from training.fingerprint import fingerprint_frame
from training.preprocess import cv_splits, prepare
from training.tables import load_table

__all__ = [
    "TASKS",
    "PreparedData",
    "Table",
    "TrainConfig",
    "cv_splits",
    "fingerprint_frame",
    "load_table",
    "prepare",
]
