"""Import a finished Optuna study's complete trials as runs (`hpo-recommend log --from-optuna`).

All Optuna knowledge lives in `recommender.integrations`; each trial becomes a row of a runs file
and goes through `recommender.ingest` exactly as a CSV row does. Optuna is imported only here,
when a study is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpo_common.errors import DataError, InputError, NotFoundError
from knowledge_base import KnowledgeBase
from recommender.ingest import ImportReport, resolve_dataset, store_rows
from training import default_metric


def import_optuna_study(
    kb: KnowledgeBase,
    storage: str,
    study_name: str,
    *,
    dataset: str | Path | None = None,
    target: str | None = None,
    dataset_id: str | None = None,
    metric: str | None = None,
    skip_invalid: bool = False,
) -> ImportReport:
    """Store the complete trials of a finished Optuna study as runs of one dataset.

    Each complete trial becomes a row like those of a runs file (its parameters, `metric`, its
    value and the study's direction) and is validated and stored exactly as `import_runs` does.
    `metric` names what the objective returned (default: the task's default metric); the study's
    direction must agree with it. Needs the `optuna` extra.

    Example:
        >>> import_optuna_study(kb, "sqlite:///o.db", "wine", dataset="wine.csv")  # doctest: +SKIP
    """
    table, record = resolve_dataset(kb, dataset, target, dataset_id)
    rows = optuna_trial_rows(storage, study_name, metric or default_metric(record.task))
    where = f"Optuna study {study_name!r} ({storage})"
    return store_rows(kb, rows, where, table, record, skip_invalid)


def optuna_trial_rows(storage: str, study_name: str, metric: str) -> list[dict[str, Any]]:
    """The complete trials of an Optuna study as runs-file rows, in trial order."""
    try:
        import optuna
    except ImportError:
        raise InputError(
            "importing an Optuna study needs optuna: pip install 'hpo-recommend[optuna]'"
        ) from None
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise NotFoundError(
            f"no Optuna study {study_name!r} in {storage}; its studies are: "
            + (", ".join(names) or "none")
        ) from None
    except (ValueError, ImportError) as exc:  # a malformed URL, or no driver for it
        raise InputError(f"cannot open Optuna storage {storage!r}: {exc}") from None
    if len(study.directions) != 1:
        raise InputError(
            f"Optuna study {study_name!r} has {len(study.directions)} objectives; "
            "only single-objective studies can be imported"
        )
    direction = (
        "minimize" if study.direction == optuna.study.StudyDirection.MINIMIZE else ("maximize")
    )
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not trials:
        raise DataError(f"Optuna study {study_name!r} in {storage} has no complete trials")
    return [
        {
            **trial.params,
            "metric": metric,
            "value": trial.value,
            "direction": direction,
            "optuna_study": study_name,
            "optuna_trial": trial.number,
        }
        for trial in trials
    ]
