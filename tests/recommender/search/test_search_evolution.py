"""Regularized evolution: the KB's suggestions are the first population, mutations change one
parameter and respect conditions, the oldest trials die, and it beats random on a toy objective."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hpo_common.errors import InputError
from recommender import Recommender
from recommender.search import EvolutionSearcher, RandomSearcher
from recommender.space import Float, SearchSpace, default_space

ROOT = Path(__file__).resolve().parents[3]
WINE = ROOT / "examples" / "wine.csv"


def toy(config: dict) -> float:
    """Best at learning_rate 1e-2, weight_decay 1e-4, dropout 0.1 (higher is better)."""
    return -(abs(math.log10(config["learning_rate"]) + 2)
             + abs(math.log10(max(config.get("weight_decay", 0.0), 1e-8)) + 4) / 2
             + abs(config["dropout"] - 0.1) * 4)


def _changed(a: dict, b: dict) -> set[str]:
    return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_first_population_is_the_warm_start_then_prior_samples():
    space = default_space()
    points = space.sample(3, np.random.default_rng(7))
    searcher = EvolutionSearcher(space, points_to_evaluate=points, population=5, sample_size=2)
    first = [searcher.ask() for _ in range(5)]
    assert first[:3] == points
    for config in first:
        space.validate(config)
        searcher.observe(config, 0.0)


def test_a_mutation_changes_one_parameter_and_keeps_conditions_valid():
    space = default_space()
    children = {name: {c for c, cond in space.conditions.items() if cond.parent == name}
                for name in space.names}
    searcher = EvolutionSearcher(space, seed=3)
    moved = set()
    for parent in space.sample(200, np.random.default_rng(0)):
        child = searcher.mutate(parent)
        space.validate(child)  # e.g. momentum appears with sgd, betas leave with it
        changed = _changed(parent, child)
        roots = {name for name in changed if name in parent and name in child}
        assert len(roots) <= 1  # one parameter (a numeric one may land on the same value)
        assert changed - roots <= set().union(*(children[r] for r in roots))
        moved |= roots
    assert moved == set(space.names)  # every parameter gets mutated sometimes


def test_the_oldest_trials_die_whatever_their_score():
    space = SearchSpace({"learning_rate": Float(1e-4, 1e-1, log=True),
                         "dropout": Float(0.0, 0.5)})
    searcher = EvolutionSearcher(space, seed=0, population=4, sample_size=4)
    legend = searcher.ask()
    searcher.observe(legend, 100.0)  # far better than anything after it
    for i in range(4):
        config = searcher.ask()
        searcher.observe(config, float(i))
    # The legend is no longer among the 4 youngest: the greedy tournament picks the best alive.
    child = searcher.ask()
    best_alive = searcher.configs[-1]
    assert len(_changed(child, best_alive)) == 1
    assert _changed(child, legend) == {"learning_rate", "dropout"}


def test_evolution_beats_random_search_on_a_toy_objective():
    space = SearchSpace({"learning_rate": Float(1e-5, 1.0, log=True),
                         "weight_decay": Float(1e-7, 1e-2, log=True),
                         "dropout": Float(0.0, 0.5)})
    best = {"evolution": [], "random": []}
    for seed in range(5):
        for name, searcher in (("evolution", EvolutionSearcher(space, seed=seed)),
                               ("random", RandomSearcher(space, seed=seed))):
            values = []
            for _ in range(80):
                config = searcher.ask()
                values.append(toy(config))
                searcher.observe(config, values[-1])
            best[name].append(max(values))
    assert np.mean(best["evolution"]) > np.mean(best["random"])


def test_a_tournament_larger_than_the_population_is_refused():
    with pytest.raises(InputError, match=r"sample_size <= population.*\(sample_size=5, "
                                         r"population=4\)"):
        EvolutionSearcher(default_space(), population=4, sample_size=5)


def test_evolution_study_logs_every_trial_and_starts_from_the_kb(tmp_path):
    rec = Recommender(kb=tmp_path / "kb.duckdb")
    study = rec.study(WINE, target="cultivar", strategy="evolution")
    searcher = study.searcher
    assert isinstance(searcher, EvolutionSearcher)
    assert len(searcher.points_to_evaluate) == searcher.population == 10  # KB suggestions
    suggestions = list(searcher.points_to_evaluate)
    for i in range(12):
        config = study.ask()
        if i < 10:
            assert config == suggestions[i]
        study.tell(config, value=-toy(config) if "dropout" in config else 1.0)
    assert len(rec.kb.runs(study_id=study.id)) == 12
    assert rec.kb.get_study(study.id).strategy == "evolution"
