"""The transfer portfolio of black-box studies: configurations chosen on what earlier studies
observed, then re-weighted by how those studies rank the new study's own trials (real DuckDB KB,
earlier studies told with `tell_many`, real LightGBM source models)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from knowledge_base import KnowledgeBase
from recommender import Recommender, SearchSpace
from recommender.learn import (
    copula,
    fitted_sources,
    greedy_gains,
    greedy_portfolio,
    load_view,
    portfolio_candidates,
)
from recommender.search import TransferPortfolio, TransferPrior

SPACE = SearchSpace.from_dict(
    {
        "parameters": {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "y": {"type": "float", "low": 0.0, "high": 1.0},
        }
    }
)
# The configurations every earlier study ran (a shared grid, as benchmark suites have).
GRID = pd.DataFrame(
    {"x": np.round(np.linspace(0.0, 1.0, 11), 2), "y": np.round(np.linspace(1.0, 0.0, 11), 2)}
)
LEFT, RIGHT = 0.2, 0.8  # where the two kinds of earlier study peak


def objective(frame: pd.DataFrame, peak: float) -> np.ndarray:
    return -((frame["x"].to_numpy() - peak) ** 2)


def told(peak: float, extra: int = 0, seed: int = 0) -> pd.DataFrame:
    """The grid, plus `extra` configurations of the study's own, with their values."""
    frame = pd.concat([GRID, pd.DataFrame(SPACE.sample(extra, seed))], ignore_index=True)
    return frame.assign(value=objective(frame, peak))


@pytest.fixture(scope="module")
def rec() -> Recommender:
    """Three earlier studies peaking at x=0.2 and two at x=0.8, no meta-features."""
    rec = Recommender(kb=KnowledgeBase(":memory:"), space=SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first study learns nothing: said once, elsewhere
        for k, peak in enumerate([LEFT, LEFT, LEFT, RIGHT, RIGHT]):
            rec.study(name=f"earlier {k}").tell_many(told(peak))
    return rec


def _greedy_by_hand(scaled: pd.DataFrame, k: int) -> list[float]:
    """The x of the `k` greedy picks over a (configuration x study) table of 0-1 scores."""
    best = np.zeros(scaled.shape[1])
    picks: list[float] = []
    for _ in range(k):
        gain = (np.maximum(scaled.to_numpy(), best) - best).mean(axis=1)
        gain[[scaled.index.get_loc(x) for x in picks]] = -np.inf
        pick = int(np.argmax(gain))
        picks.append(float(scaled.index[pick]))
        best = np.maximum(best, scaled.to_numpy()[pick])
    return picks


def test_the_zero_shot_portfolio_is_greedy_on_the_observed_scores(rec) -> None:
    view = load_view(rec.kb)
    assert view.scaled.min() == 0.0 and view.scaled.max() == 1.0
    table = view.runs.assign(scaled=view.scaled).pivot_table(
        index="x", columns="dataset_id", values="scaled"
    )
    expected = _greedy_by_hand(table, 3)  # after three, every study has its best: ties at 0
    picks = greedy_portfolio(view, SPACE, 3)
    assert [p["x"] for p in picks] == expected
    # the first pick does well on both kinds, the next ones cover each kind's own peak
    assert expected[0] == 0.4 and {LEFT, RIGHT} <= set(expected[1:3])


def test_a_source_answers_its_own_configurations_with_what_it_observed(rec) -> None:
    view = load_view(rec.kb)
    sources = fitted_sources(view, SPACE)
    first = view.runs["dataset_id"] == sources.dataset_ids_[0]
    X = SPACE.encode(view.runs[first])
    assert np.allclose(sources.predict(X)[0], view.scores[first])
    assert np.allclose(sources.performance(X)[0], view.scaled[first])
    unseen = SPACE.encode([{"x": 0.33, "y": 0.5}])
    assert 0.0 <= sources.performance(unseen)[0, 0] <= 1.0  # the model, on the same 0-1 scale


def test_the_portfolio_follows_the_studies_that_rank_the_new_trials(rec) -> None:
    study = rec.study(name="like the right ones", persist=False)
    portfolio = study.searcher.portfolio
    assert isinstance(portfolio, TransferPortfolio) and not study.searcher.points_to_evaluate
    prior = portfolio.prior
    assert isinstance(prior, TransferPrior)
    assert np.allclose(prior.source_weights, 1 / 5)  # before any trial: every study alike
    asked = []
    for _ in range(4):
        config = study.ask()
        asked.append(config)
        study.tell(config, value=float(objective(pd.DataFrame([config]), RIGHT)[0]))
    ids = _ids(rec, ["earlier 3", "earlier 4"])
    right = [i for i, d in enumerate(prior.sources.dataset_ids_) if d in ids]
    weights = prior.source_weights
    assert weights[right].sum() > weights.sum() - weights[right].sum()
    assert RIGHT in [c["x"] for c in asked]  # the right studies' best, found within 4 trials


def test_the_portfolio_hands_over_when_nothing_is_left_to_gain(rec) -> None:
    study = rec.study(name="hand over", persist=False)
    candidates = {str(c) for c in study.searcher.portfolio.candidates}
    asked = []
    for _ in range(12):
        config = study.ask()
        asked.append(str(config) in candidates)
        study.tell(config, value=float(objective(pd.DataFrame([config]), LEFT)[0]))
    assert asked[0] and not all(asked)  # the portfolio first, the searcher's model later
    assert asked.index(False) < len(GRID)  # before every stored configuration was tried


@pytest.mark.parametrize(("trials", "hands_over"), [(10, False), (16, True)])
def test_the_portfolio_hands_over_once_the_own_model_outweighs_the_studies(
    rec, trials: int, hands_over: bool
) -> None:
    """Trials valued unlike every earlier study (best at both ends of x): the own model comes to
    rank them better, and once it outweighs the studies the portfolio stops, though its
    candidates still gain on the studies."""
    sources = fitted_sources(load_view(rec.kb), SPACE)
    prior = TransferPrior(sources, seed=0)
    candidates = portfolio_candidates(sources, SPACE)
    portfolio = TransferPortfolio(prior, candidates, SPACE.encode(candidates))
    frame = pd.DataFrame(SPACE.sample(trials, 1))
    X = SPACE.encode(frame.to_dict("records"))
    prior.observe(X, copula((frame["x"].to_numpy() - 0.5) ** 2))
    best = sources.performance(X).max(axis=1)  # each study's best over the trials
    assert greedy_gains(portfolio.performance, prior.source_weights, best).max() > 0
    outweighs = prior.own_weight >= prior.source_weights.sum()
    assert outweighs == hands_over
    assert (portfolio.propose(X, lambda config: True) is None) == hands_over


def _portfolio(rec: Recommender) -> TransferPortfolio:
    sources = fitted_sources(load_view(rec.kb), SPACE)
    candidates = portfolio_candidates(sources, SPACE)
    return TransferPortfolio(TransferPrior(sources, seed=0), candidates, SPACE.encode(candidates))


def _on_grid(xs: list[float], peak: float) -> tuple[np.ndarray, np.ndarray]:
    """Encoded grid configurations at `xs` and their normalised scores under `peak`."""
    frame = GRID[GRID["x"].isin(xs)].set_index("x").loc[xs].reset_index()
    return SPACE.encode(frame.to_dict("records")), copula(objective(frame, peak))


def test_the_set_is_the_zero_shot_portfolio_until_its_gain_vanishes(rec) -> None:
    portfolio = _portfolio(rec)
    even = [portfolio.candidates[i] for i in portfolio.even]
    # after 0.4 (good on both kinds, nearer the left ones) and each kind's peak, every study's
    # best is covered
    assert [c["x"] for c in even] == [0.4, RIGHT, LEFT]
    assert even == greedy_portfolio(load_view(rec.kb), SPACE, len(even))


def _tried(xs: list[float]) -> Callable[[dict], bool]:
    keys = {_key(c) for c in GRID[GRID["x"].isin(xs)].to_dict("records")}
    return lambda config: _key(config) not in keys


def test_the_evidence_orders_the_members_of_a_block(rec) -> None:
    """Trials ranked as the right studies rank them (against the left ones): of the first block
    (0.4, the right peak) the even weights would run 0.4 first, nearer the three left studies'
    peak; the evidence runs the right peak first."""
    trials = [0.5, 0.6, 1.0]
    X, y = _on_grid(trials, RIGHT)
    evidence, zero_shot = _portfolio(rec), _portfolio(rec)
    assert evidence.prior.observe(X, y)
    weights = evidence.prior.source_weights
    right = _sources(evidence, rec, ["earlier 3", "earlier 4"])
    assert weights[right].sum() > weights.sum() - weights[right].sum()
    assert zero_shot.propose(X, _tried(trials))["x"] == 0.4
    assert evidence.propose(X, _tried(trials))["x"] == RIGHT


def test_the_evidence_never_skips_a_block(rec) -> None:
    """Trials ranked as the left studies rank them, the left peak the one that gains most under
    the evidence: it is still run only after both members of the first block."""
    trials = [0.6, 1.0]
    X, y = _on_grid(trials, LEFT)
    portfolio = _portfolio(rec)
    assert portfolio.prior.observe(X, y)
    best = portfolio.prior.sources.performance(X).max(axis=1)
    gains = greedy_gains(portfolio.performance, portfolio.prior.source_weights, best)
    assert portfolio.candidates[int(np.argmax(gains))]["x"] == LEFT  # what a free pick would run
    asked = []
    for _ in range(3):
        config = portfolio.propose(X, _tried(trials))
        asked.append(config["x"])
        trials.append(config["x"])
        X, y = _on_grid(trials, LEFT)
        portfolio.prior.observe(X, y)
    assert asked == [0.4, RIGHT, LEFT]


def test_a_study_runs_the_set_first_a_block_at_a_time(rec) -> None:
    study = rec.study(name="the set first", persist=False)
    study.tell_many(told(RIGHT).iloc[[5, 6, 10]].reset_index(drop=True))  # 0.5, 0.6, 1.0
    portfolio = study.searcher.portfolio
    even = [_key(portfolio.candidates[i]) for i in portfolio.even]
    asked = []
    for _ in range(len(even)):
        config = study.ask()
        asked.append(_key(config))
        study.tell(config, value=float(objective(pd.DataFrame([config]), RIGHT)[0]))
    assert set(asked[:2]) == set(even[:2]) and asked[2:] == even[2:]
    assert asked[0] != even[0]  # the right peak first, as the trials told before rank


def test_no_portfolio_with_warm_start_zero(rec) -> None:
    study = rec.study(name="no warm start", persist=False, warm_start=0)
    assert study.searcher.portfolio is None


def _sources(portfolio: TransferPortfolio, rec: Recommender, names: list[str]) -> list[int]:
    ids = _ids(rec, names)
    return [i for i, d in enumerate(portfolio.prior.sources.dataset_ids_) if d in ids]


def _key(config) -> str:
    return repr(sorted(config.items()))


def _ids(rec: Recommender, names: list[str]) -> set[str]:
    datasets = rec.kb.datasets()
    return set(datasets[datasets["name"].isin(names)]["id"])
