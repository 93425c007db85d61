"""Tables to tensors, the hyperparameter config, the MLP and its fast training loop.

Knows nothing of search or of the knowledge base.
"""

from __future__ import annotations

from training.config import TrainConfig
from training.data import TASKS, PreparedData, Table

__all__ = ["TASKS", "PreparedData", "Table", "TrainConfig"]
