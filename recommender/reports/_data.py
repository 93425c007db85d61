"""What a study report shows, read from the knowledge base in one pass: runs, curves, scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from knowledge_base import KnowledgeBase, StudyRecord
from recommender.learn import study_scores
from recommender.space import SearchSpace, default_space
from training.metrics import METRIC_DIRECTIONS


@dataclass(frozen=True)
class StudyData:
    """One study's runs in trial order (`trial` from 1), their curves and normalised scores."""

    study: StudyRecord
    dataset_name: str
    objective: str
    direction: str  # "minimize" or "maximize"
    space: SearchSpace
    runs: pd.DataFrame  # one row per run, KB run columns plus `trial` and `score`
    curves: pd.DataFrame  # one row per (run_id, epoch)

    @property
    def with_value(self) -> pd.DataFrame:
        """Runs with a value to plot: status ok, or pruned with the value it reached."""
        usable = self.runs["status"].isin(("ok", "pruned")) & np.isfinite(self.runs["value"])
        return self.runs[usable]

    def best_first(self) -> pd.DataFrame:
        """Runs that finished (status ok), best objective value first; pruned runs never count
        as the best, as in the study itself."""
        finished = self.with_value[self.with_value["status"] == "ok"]
        return finished.sort_values("value", ascending=self.direction == "minimize", kind="stable")


def load_study(kb: KnowledgeBase, study_id: str) -> StudyData:
    """Read a study, its runs and their curves; `NotFoundError` if the study is unknown."""
    study = kb.get_study(study_id)
    runs = kb.runs(study_id=study_id).reset_index(drop=True)
    dataset_name = str(kb.get_dataset(study.dataset_id).name)
    first = runs.iloc[0] if len(runs) else {}
    objective = study.objective or str(first.get("objective", "value"))
    direction = study.direction or str(
        first.get("direction", METRIC_DIRECTIONS.get(objective, "minimize"))
    )
    space = (
        SearchSpace.from_dict(study.space, source=f"study {study_id} space")
        if study.space
        else default_space()
    )
    runs.insert(0, "trial", np.arange(1, len(runs) + 1))
    runs["value"] = pd.to_numeric(runs["value"], errors="coerce").astype(float)
    runs["score"] = study_scores(runs["value"].to_numpy(), direction, runs["status"].tolist())
    curves = kb.curves(runs["id"].tolist()) if len(runs) else pd.DataFrame()
    return StudyData(study, dataset_name, objective, direction, space, runs, curves)

