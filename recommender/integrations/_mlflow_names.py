"""What MLflow names mean to the knowledge base, shared by the import and the export.

Export and import agree on these tag, metric and status names, so trials `tune` logs to MLflow
come back exactly (status included) when they are imported into another knowledge base.
"""

from __future__ import annotations

from collections.abc import Iterable

from hpo_common.errors import InputError
from training import METRIC_DIRECTIONS, TrainConfig

TAG = "hpo_recommend."  # prefix of the tags the export writes and the import reads
RUN_ID_TAG = TAG + "run_id"
STUDY_TAG = TAG + "study_id"
STATUS_TAG = TAG + "status"
OBJECTIVE_TAG = TAG + "objective"
DIRECTION_TAG = TAG + "direction"
DATASET_TAG = TAG + "dataset"
DATASET_ID_TAG = TAG + "dataset_id"
ERROR_TAG = TAG + "error"
STOP_REASON_TAG = TAG + "stop_reason"
BEST_TAG = TAG + "best"

# Per-epoch history keys; the objective's history is "val_<objective>" (or its own key).
TRAIN_LOSS, VAL_LOSS, LR = "train_loss", "val_loss", "lr"

# MLflow run status -> KB status; KILLED (stopped early) is `pruned` when it has a score.
TERMINAL = ("FINISHED", "FAILED", "KILLED")
EXPORT_STATUS = {"ok": "FINISHED", "pruned": "KILLED", "diverged": "FAILED", "failed": "FAILED"}

SEED = "seed"
_FIELDS = TrainConfig.field_names()
# Parameter names teams (and MLflow's Keras/Lightning autologging) use for our hyperparameters.
PARAM_ALIASES: dict[str, str] = {
    **{name: name for name in _FIELDS},
    "lr": "learning_rate",
    "opt_learning_rate": "learning_rate",
    "bs": "batch_size",
    "epochs": "max_epochs",
    "num_epochs": "max_epochs",
    "n_epochs": "max_epochs",
    "wd": "weight_decay",
    "opt_weight_decay": "weight_decay",
    "optim": "optimizer",
    "optimizer_name": "optimizer",
    "opt_name": "optimizer",
    "opt_momentum": "momentum",
    "dropout_rate": "dropout",
    "num_layers": "n_layers",
    "hidden_size": "width",
    "hidden_dim": "width",
    "seed": SEED,
    "random_seed": SEED,
    "random_state": SEED,
}


def parse_name_map(pairs: Iterable[str]) -> dict[str, str]:
    """`["their_name=learning_rate", ...]` as a dict; the right side must be a name we know.

    Example:
        >>> parse_name_map(["eta=learning_rate", "val_acc=accuracy"])
        {'eta': 'learning_rate', 'val_acc': 'accuracy'}
    """
    known = (*_FIELDS, SEED, *METRIC_DIRECTIONS)
    mapping: dict[str, str] = {}
    for pair in pairs:
        theirs, sep, ours = (part.strip() for part in pair.partition("="))
        if not sep or not theirs or not ours:
            raise InputError(f"--map must look like their_name=learning_rate, but got {pair!r}")
        if ours not in known:
            raise InputError(
                f"--map {pair!r}: {ours!r} is not a hyperparameter, 'seed' or a standard metric; "
                f"valid: {', '.join(known)}"
            )
        mapping[theirs] = ours
    return mapping
