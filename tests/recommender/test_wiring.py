"""Names become objects in one place; objects pass through; a failure writes nothing."""

from __future__ import annotations

import pytest

from hpo_common.errors import InputError
from knowledge_base import KnowledgeBase
from recommender import open_study
from recommender.search import MedianPruner, RandomSearcher
from recommender.space import Float, Int, SearchSpace
from recommender.study import blackbox_dataset

SPACE = SearchSpace({"width": Int(1, 64), "colour_weight": Float(0.0, 2.0)})


def test_a_searcher_that_cannot_be_built_leaves_no_running_study() -> None:
    kb = KnowledgeBase(":memory:")
    with pytest.raises(InputError, match="more than the limit of 1 "):
        open_study(kb, SPACE, blackbox_dataset("toy"), strategy="grid", grid_limit=1)
    with pytest.raises(InputError, match="strategy must be one of"):
        open_study(kb, SPACE, blackbox_dataset("toy"), strategy="annealing")
    assert len(kb.studies()) == 0 and len(kb.datasets()) == 0


def test_objects_are_used_as_given_and_the_searcher_names_the_study() -> None:
    kb = KnowledgeBase(":memory:")
    searcher, pruner = RandomSearcher(SPACE, seed=4), MedianPruner(n_warmup_epochs=5)
    study = open_study(kb, SPACE, blackbox_dataset("toy"), strategy=searcher, pruner=pruner)
    assert study.searcher is searcher and study.pruner is pruner
    assert study.record.strategy == "random"
    config = study.ask()
    assert set(config) == {"width", "colour_weight"}  # a black-box space: any names
    study.tell(config, value=1.0)
    assert len(kb.runs(study_id=study.id)) == 1
