"""Tables to tensors, the hyperparameter config, the MLP and its fast training loop.

Knows nothing of search or of the knowledge base.
"""

from __future__ import annotations

from training.batched import GROUP_FIELDS, group_key, train_many
from training.config import TrainConfig
from training.cv import train_cv
from training.data import TASKS, PreparedData, Table
from training.device import resolve_device
from training.fingerprint import fingerprint_frame
from training.lr_find import lr_find, plot_lr_find
from training.metrics import METRIC_DIRECTIONS, default_metric, metrics_for
from training.model import build_model
from training.preprocess import cv_splits, prepare
from training.results import CVResult, EpochStats, LRFindResult, TrainResult
from training.schedules import lr_at
from training.tables import load_table
from training.train import train

__all__ = [
    "GROUP_FIELDS",
    "METRIC_DIRECTIONS",
    "TASKS",
    "CVResult",
    "EpochStats",
    "LRFindResult",
    "PreparedData",
    "Table",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "cv_splits",
    "default_metric",
    "fingerprint_frame",
    "load_table",
    "lr_at",
    "lr_find",
    "metrics_for",
    "plot_lr_find",
    "prepare",
    "resolve_device",
    "group_key",
    "train",
    "train_cv",
    "train_many",
]
