"""`kb_report`: what the whole knowledge base holds, as figures and one HTML page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from knowledge_base import KnowledgeBase
from recommender.learn import objective_for
from recommender.reports._figure import save
from recommender.reports._html import figure_html, page, table_html
from recommender.reports._kb_plots import best_config_distributions, meta_feature_map
from recommender.reports._result import ReportFiles

DATASET_COLUMNS = ("name", "task", "n_rows", "n_features", "n_classes", "n_runs")


def kb_report(kb: KnowledgeBase, out_dir: str | Path) -> ReportFiles:
    """Write a meta-feature map of the KB's datasets, the distributions of their best
    configurations by task, and `kb_report.html` (figures plus a table of datasets).

    Example:
        >>> kb_report(KnowledgeBase("kb.duckdb"), "kb-report").html  # doctest: +SKIP
        PosixPath('kb-report/kb_report.html')
    """
    folder = Path(out_dir).expanduser()
    datasets = kb.datasets()
    best = best_runs_by_dataset(kb, datasets)
    paths = (
        save(meta_feature_map(kb.meta_features(), datasets), folder / "meta_feature_map.png"),
        save(best_config_distributions(best), folder / "best_configs.png"),
    )
    stats = kb.stats()
    facts = (f"{stats['datasets']} datasets · {stats['runs']} runs · {stats['studies']} studies · "
             f"{stats['path']}")
    table = datasets[list(DATASET_COLUMNS)].sort_values(["task", "name"])
    html_path = folder / "kb_report.html"
    html_path.write_text(
        page("Knowledge base report", facts, [
            ("Datasets by meta-features", figure_html(paths[0], "meta-feature map")),
            ("Best configurations by task", figure_html(paths[1], "best configurations")),
            ("Datasets", table_html(table)),
        ]),
        encoding="utf-8",
    )
    return ReportFiles(html=html_path, figures=paths)


def best_runs_by_dataset(kb: KnowledgeBase, datasets: pd.DataFrame) -> pd.DataFrame:
    """Each dataset's best `ok` run on its task's default objective (else on any objective),
    with the dataset's `task`."""
    best = kb.best_runs(k=1)
    if best.empty:
        return best.assign(task=pd.Series(dtype=str))
    best = best.join(datasets.set_index("id")["task"], on="dataset_id")
    default = best["objective"] == best["task"].map(objective_for)
    best = best.assign(_default=default).sort_values("_default", ascending=False, kind="stable")
    return best.drop_duplicates("dataset_id").drop(columns="_default").reset_index(drop=True)
