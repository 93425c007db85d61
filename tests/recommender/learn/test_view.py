"""A KB snapshot with datasets held out: what held-out evaluations learn from (first seed KB)."""

from __future__ import annotations

from pathlib import Path

from recommender._kb import open_kb
from recommender.learn import load_view


def test_without_drops_every_named_dataset_and_keeps_the_rest(tmp_path: Path) -> None:
    view = load_view(open_kb(tmp_path / "kb.duckdb"))
    first, second, *others = sorted(view.runs["dataset_id"].unique())
    rest = view.without(first, second)
    assert set(rest.runs["dataset_id"]) == set(others)
    assert {first, second}.isdisjoint(rest.meta.index)
    assert len(rest.runs) == int((~view.runs["dataset_id"].isin([first, second])).sum())
    assert len(view.without(first).runs) == int((view.runs["dataset_id"] != first).sum())
