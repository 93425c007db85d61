"""`Recommender`: the Python API, one object over a knowledge base and a search space.

Example:
    >>> from recommender import Recommender
    >>> rec = Recommender(kb="~/my_kb.duckdb")  # doctest: +SKIP
    >>> result = rec.suggest("data.csv", target="label", top=5)  # doctest: +SKIP
    >>> result.suggestions[0].config  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from knowledge_base import KnowledgeBase
from recommender.kb_open import cache_dir_of, open_kb
from recommender.meta_cache import meta_features_of
from recommender.space import SearchSpace, default_space, load_space
from recommender.suggest import SuggestResult, suggest
from training import Table, load_table

DataSource = str | Path | pd.DataFrame | Table


class Recommender:
    """Suggest, tune and log against one knowledge base.

    Args:
        kb: a KB file path, a `KnowledgeBase`, or None for the default location
            ($HPO_RECOMMEND_KB, else the per-user data folder). A new file is filled with the
            shipped seed runs.
        space: a search-space file or `SearchSpace`; None for the shipped default space.
    """

    def __init__(
        self,
        kb: str | Path | KnowledgeBase | None = None,
        space: str | Path | SearchSpace | None = None,
    ) -> None:
        self.kb = open_kb(kb)
        if space is None:
            self.space = default_space()
        elif isinstance(space, SearchSpace):
            self.space = space
        else:
            self.space = load_space(space)

    def table(self, data: DataSource, target: str | None = None, task: str | None = None) -> Table:
        """Load `data` (a file, a DataFrame or an already loaded `Table`)."""
        if isinstance(data, Table):
            return data
        return load_table(data, target=target, task=task)

    def suggest(
        self,
        data: DataSource,
        target: str | None = None,
        *,
        top: int = 5,
        task: str | None = None,
        objective: str | None = None,
        seed: int = 0,
    ) -> SuggestResult:
        """Zero-shot recommendations for `data`, learned from every run in the knowledge base."""
        table = self.table(data, target, task)
        cache_dir = cache_dir_of(self.kb)
        return suggest(
            table,
            self.kb,
            self.space,
            top=top,
            objective=objective,
            seed=seed,
            meta_features=meta_features_of(table, cache_dir),
            cache_dir=cache_dir,
        )
