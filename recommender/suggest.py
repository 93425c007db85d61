"""Zero-shot recommendations: rank candidate configurations for a new dataset with the surrogate.

Candidates are many samples of the search space plus the best configurations already in the
knowledge base; the surrogate predicts each one's normalised score on this dataset at the epoch
budget of its own `max_epochs` (learned from the KB's learning curves, so training length is
recommended like any other hyperparameter); the top-k are picked greedily so that no two are
near-duplicates. Evidence comes with them: the most similar
datasets in the knowledge base (by meta-features) and their best runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender.learn import (
    KBView,
    SimilarDataset,
    Suggestion,
    compute_meta_features,
    load_view,
    objective_for,
    rank_configs,
    trained_space,
)
from recommender.space import Int, SearchSpace, check_trainable
from training import Table
from training.config import applies_to


@dataclass(frozen=True)
class SuggestResult:
    """What `suggest` returns: the suggestions, the evidence, and notes on what was decided."""

    dataset_id: str
    dataset_name: str
    task: str
    objective: str
    suggestions: tuple[Suggestion, ...]
    similar_datasets: tuple[SimilarDataset, ...] = ()
    known_best_runs: tuple[dict[str, Any], ...] = ()
    meta_features: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's `--json`)."""
        import dataclasses

        return dataclasses.asdict(self)


def suggest(
    table: Table,
    kb: KnowledgeBase | KBView,
    space: SearchSpace,
    *,
    top: int = 5,
    objective: str | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    meta_features: dict[str, float] | None = None,
    cache_dir: Path | None = None,
) -> SuggestResult:
    """Recommend `top` diverse configurations for `table`, learned from every run in `kb`.

    `kb` may also be a `KBView` snapshot (e.g. a KB with one dataset left out, for evaluation).

    Example:
        >>> kb = KnowledgeBase("kb.duckdb")  # doctest: +SKIP
        >>> result = suggest(load_table("data.csv"), kb, default_space())  # doctest: +SKIP
        >>> TrainConfig.from_dict(result.suggestions[0].config)  # doctest: +SKIP
    """
    if top < 1:
        raise InputError(f"top must be >= 1, but got {top}")
    check_trainable(space)
    metric = objective_for(table.task, objective)
    features = meta_features or compute_meta_features(table)
    view = kb if isinstance(kb, KBView) else load_view(kb, objective)
    notes: list[str] = []
    known = view.best_runs(table.fingerprint, metric)
    if view.learnable_runs(table.task) == 0:
        notes.append(
            f"the knowledge base has no runs of {table.task} datasets to learn from: "
            "showing the default ranking (recommender.learn.DEFAULT_PORTFOLIO)"
        )
        similar: tuple[SimilarDataset, ...] = ()
    else:
        similar = tuple(view.similar_datasets(features, table.fingerprint, metric, k=3))
        shared = view.shared_settings(space)
        kept_settings = [
            f"{name}={value}" for name, value in shared.items() if applies_to(name, table.task)
        ]
        if kept_settings:
            notes.append(
                f"every run the suggestions are learned from has {', '.join(kept_settings)}: "
                "suggestions keep these values, since the knowledge base cannot rank others"
            )
        kept = trained_space(view, space, features, table.fingerprint)
        epochs = kept.parameters.get("max_epochs")
        if kept != space and isinstance(epochs, Int):
            notes.append(_epochs_note(epochs))
    suggestions = rank_configs(
        view,
        space,
        features,
        table.task,
        top,
        n_samples=n_samples,
        seed=seed,
        cache_dir=cache_dir,
        exclude=table.fingerprint,
    )
    return SuggestResult(
        dataset_id=table.fingerprint,
        dataset_name=table.name,
        task=table.task,
        objective=metric,
        suggestions=suggestions,
        similar_datasets=similar,
        known_best_runs=tuple(known),
        meta_features=features,
        notes=tuple(table.notes) + tuple(notes),
    )


def _epochs_note(kept: Int) -> str:
    """Why suggestions train no longer (or shorter) than `kept` allows."""
    epochs = f"max_epochs={kept.low}"
    if kept.high > kept.low:
        epochs = f"max_epochs {kept.low}..{kept.high}"
    return (
        f"the knowledge base's runs on datasets like this one cover {epochs} only: suggestions "
        "keep to it, since it cannot rank training lengths it has not seen"
    )
