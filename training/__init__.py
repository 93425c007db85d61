"""Tables to tensors, the hyperparameter config, the MLP and its fast training loop.

Knows nothing of search or of the knowledge base. Names are imported on first use
(`hpo_common.lazy`), so `from training import load_table, TrainConfig` loads neither torch nor
scikit-learn: only code that trains or splits pays for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo_common.lazy import lazy_exports

if TYPE_CHECKING:
    from training._strata import check_splittable as check_splittable
    from training.batched import BATCH_FIELDS as BATCH_FIELDS
    from training.batched import GROUP_FIELDS as GROUP_FIELDS
    from training.batched import group_key as group_key
    from training.batched import train_many as train_many
    from training.config import TrainConfig as TrainConfig
    from training.config import forward_macs as forward_macs
    from training.cv import train_cv as train_cv
    from training.data import TASKS as TASKS
    from training.data import PreparedData as PreparedData
    from training.data import Table as Table
    from training.device import resolve_device as resolve_device
    from training.fingerprint import fingerprint_frame as fingerprint_frame
    from training.lr_find import lr_find as lr_find
    from training.lr_find import plot_lr_find as plot_lr_find
    from training.metrics import METRIC_DIRECTIONS as METRIC_DIRECTIONS
    from training.metrics import default_metric as default_metric
    from training.metrics import metrics_for as metrics_for
    from training.model import build_model as build_model
    from training.population import train_population as train_population
    from training.preprocess import cv_splits as cv_splits
    from training.preprocess import for_config as for_config
    from training.preprocess import prepare as prepare
    from training.results import CONVERGED as CONVERGED
    from training.results import CVResult as CVResult
    from training.results import EpochStats as EpochStats
    from training.results import LRFindResult as LRFindResult
    from training.results import TrainResult as TrainResult
    from training.schedules import lr_at as lr_at
    from training.tables import load_table as load_table
    from training.train import train as train

# Public name -> the module that defines it.
_MODULES = {
    "BATCH_FIELDS": "batched",
    "GROUP_FIELDS": "batched",
    "group_key": "batched",
    "train_many": "batched",
    "METRIC_DIRECTIONS": "metrics",
    "TASKS": "data",
    "CONVERGED": "results",
    "CVResult": "results",
    "EpochStats": "results",
    "LRFindResult": "results",
    "PreparedData": "data",
    "Table": "data",
    "TrainConfig": "config",
    "TrainResult": "results",
    "build_model": "model",
    "check_splittable": "_strata",
    "cv_splits": "preprocess",
    "default_metric": "metrics",
    "fingerprint_frame": "fingerprint",
    "forward_macs": "config",
    "for_config": "preprocess",
    "load_table": "tables",
    "lr_at": "schedules",
    "lr_find": "lr_find",
    "metrics_for": "metrics",
    "plot_lr_find": "lr_find",
    "prepare": "preprocess",
    "train_population": "population",
    "resolve_device": "device",
    "train": "train",
    "train_cv": "cv",
}

__all__ = sorted(_MODULES)
lazy_exports(__name__, _MODULES)
