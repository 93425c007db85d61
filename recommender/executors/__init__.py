"""Who runs the trials: in this process, in local worker processes, or as Ray tasks.

Executors never see the search, the surrogate or the knowledge base (see `_local.py` for the
contract). Ray is imported only when a `RayExecutor` starts; `RayOptions` needs no Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo_common.lazy import lazy_exports

if TYPE_CHECKING:
    from recommender.executors._local import EpochCallback as EpochCallback
    from recommender.executors._local import Executor as Executor
    from recommender.executors._local import ProcessExecutor as ProcessExecutor
    from recommender.executors._local import SequentialExecutor as SequentialExecutor
    from recommender.executors._ray import RayExecutor as RayExecutor
    from recommender.executors._ray import RayOptions as RayOptions

# Public name -> the module that defines it.
_MODULES = {
    "EpochCallback": "_local",
    "Executor": "_local",
    "ProcessExecutor": "_local",
    "SequentialExecutor": "_local",
    "RayExecutor": "_ray",
    "RayOptions": "_ray",
}

__all__ = sorted(_MODULES)
lazy_exports(__name__, _MODULES)
