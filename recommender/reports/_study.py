"""`study_report`: the figures and the HTML page of one study in the knowledge base."""

from __future__ import annotations

from pathlib import Path

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender.reports._data import StudyData, load_study
from recommender.reports._figure import save
from recommender.reports._html import figure_html, page, table_html
from recommender.reports._importance import importance
from recommender.reports._result import ReportFiles
from recommender.reports._study_plots import (
    best_so_far,
    importance_figure,
    learning_curves,
    pair_map,
)
from recommender.space import SearchSpace

# Trials-table columns after the outcome, in the order a person reads a configuration.
TABLE_CONFIG = (
    "optimizer", "learning_rate", "batch_size", "n_layers", "width", "activation", "dropout",
    "weight_decay", "lr_schedule",
)
TABLE_OUTCOME = ("trial", "status", "value", "best_epoch", "epochs_run", "wall_seconds")


def study_report(
    kb: KnowledgeBase,
    study_id: str,
    out_dir: str | Path,
    *,
    x: str = "learning_rate",
    y: str = "batch_size",
    top: int = 5,
) -> ReportFiles:
    """Write the PNG figures and `report.html` of study `study_id` into `out_dir`.

    Figures: best value so far per trial, learning curves of the `top` best trials,
    hyperparameter importance (permutation importance of a LightGBM fit of the study's normalised
    scores), and the trials on `x` against `y` coloured by value. The HTML page embeds them and
    lists every trial.

    Example:
        >>> files = study_report(KnowledgeBase("kb.duckdb"), "3f2a...", "report")  # doctest: +SKIP
        >>> files.html  # doctest: +SKIP
        PosixPath('report/report.html')
    """
    data = load_study(kb, study_id)
    for name in (x, y):
        _check_parameter(name, data.space)
    folder = Path(out_dir).expanduser()
    figures = {
        "best_so_far": best_so_far(data),
        "learning_curves": learning_curves(data, top),
        "importance": importance_figure(importance(data)),
        f"{x}_vs_{y}": pair_map(data, x, y),
    }
    paths = tuple(save(fig, folder / f"{name}.png") for name, fig in figures.items())
    html_path = folder / "report.html"
    html_path.write_text(_page(data, paths), encoding="utf-8")
    return ReportFiles(html=html_path, figures=paths)


def _check_parameter(name: str, space: SearchSpace) -> None:
    if name not in space.names:
        raise InputError(
            f"--x/--y must name a hyperparameter of the study's space "
            f"({', '.join(space.names)}), but got {name!r}"
        )


def _page(data: StudyData, figures: tuple[Path, ...]) -> str:
    runs = data.runs
    columns = [c for c in (*TABLE_OUTCOME, *TABLE_CONFIG) if c in runs]
    table = runs[columns].rename(columns={"value": data.objective})
    best = data.best_first().index[:1]
    classes = [
        "best" if i in best else ("bad" if status in ("failed", "diverged") else "")
        for i, status in zip(runs.index, runs["status"], strict=True)
    ]
    counts = runs["status"].value_counts().to_dict()
    study = data.study
    facts = (
        f"study {study.id} · dataset {data.dataset_name} ({study.dataset_id[:12]}) · "
        f"strategy {study.strategy} · objective {data.objective} ({data.direction}) · "
        f"{len(runs)} trials ({', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}) · "
        f"status {study.status}"
    )
    titles = ("Best so far", "Learning curves of the best trials", "Hyperparameter importance",
              "Two hyperparameters")
    sections = [(t, figure_html(p, t)) for t, p in zip(titles, figures, strict=True)]
    sections.append(("Trials", table_html(table, classes)))
    return page(f"Study report: {data.dataset_name}", facts, sections)
