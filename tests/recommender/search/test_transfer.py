"""Transfer that adapts: past datasets weighted by how they rank the new dataset's own trials
(real LightGBM source models on the first seed KB, `tests/conftest.py`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from knowledge_base import KnowledgeBase
from recommender._kb import open_kb
from recommender._wiring import WarmStart, make_searcher
from recommender.learn import KBPrior, KBView, copula, fitted_sources, greedy_portfolio, load_view
from recommender.search import SurrogateSearcher, TransferPrior
from recommender.settings import SurrogateSettings
from recommender.space import SearchSpace, default_space
from training.metrics import METRIC_DIRECTIONS

SPACE = default_space()


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> KBView:
    kb: KnowledgeBase = open_kb(tmp_path_factory.mktemp("kb") / "kb.duckdb")  # the seed runs
    return load_view(kb)


@pytest.fixture(scope="module")
def target(view: KBView) -> pd.DataFrame:
    """One seed dataset's runs with their normalised scores: the 'new' dataset's trials."""
    dataset_id = sorted(view.runs["dataset_id"].unique())[3]
    mine = view.runs["dataset_id"] == dataset_id
    return view.runs[mine].assign(score=view.scores[mine].to_numpy())


def _with_sources(view: KBView, target: pd.DataFrame) -> KBView:
    """The KB without the target, plus a past study of the target itself ("twin") and a copy
    whose every metric is reversed ("anti": it ranks the target's configurations backwards)."""
    rest = view.without(str(target["dataset_id"].iloc[0]))
    twin = target.drop(columns="score").assign(dataset_id="twin", dataset_name="twin")
    anti = twin.assign(dataset_id="anti", dataset_name="anti")
    for metric in METRIC_DIRECTIONS:
        anti[metric] = -anti[metric]
    runs = pd.concat([rest.runs, twin, anti], ignore_index=True)
    return KBView(runs=runs, meta=rest.meta, objective=view.objective)


def test_weights_move_to_the_source_that_ranks_like_the_target(view, target) -> None:
    sources = fitted_sources(_with_sources(view, target), SPACE)
    prior = TransferPrior(sources, None, seed=0)
    twin, anti = sources.dataset_ids_.index("twin"), sources.dataset_ids_.index("anti")
    zero_shot = prior.source_weights.copy()
    assert np.allclose(zero_shot, 1 / sources.n_sources)  # no meta-features: uniform

    trials = target[target["status"] == "ok"].head(15)
    assert prior.observe(SPACE.encode(trials), copula(trials["score"].to_numpy()))
    weights = prior.source_weights
    assert weights[twin] == weights.max() and weights[twin] > 10 * zero_shot[twin]
    # the misleading source keeps only the zero-shot belief's share, spread over every source
    assert weights[anti] == pytest.approx(weights.min())
    assert np.isclose(weights, weights.min()).sum() > sources.n_sources / 2  # most never win
    assert weights.sum() + prior.own_weight == pytest.approx(1.0)


def test_the_zero_shot_belief_keeps_the_weight_until_sources_rank_better(view, target) -> None:
    """The uniform belief competes as one more model: after one pair of trials, which dozens of
    sources order right by chance, it keeps much of the weight (every source keeps part of its
    zero-shot share); after 15 trials the source that ranks like the target has taken it."""
    sources = fitted_sources(_with_sources(view, target), SPACE)
    twin = sources.dataset_ids_.index("twin")
    trials = target[target["status"] == "ok"]
    floor, twin_weight = [], []
    for n in (2, 15):
        prior = TransferPrior(sources, None, seed=0)
        zero_shot = prior.source_weights.copy()
        head = trials.head(n)
        prior.observe(SPACE.encode(head), copula(head["score"].to_numpy()))
        floor.append(prior.source_weights.min() / zero_shot.min())
        twin_weight.append(prior.source_weights[twin])
    assert floor[0] > 0.25 and twin_weight[0] < 0.1
    assert floor[1] < floor[0] / 2 and twin_weight[1] > 0.5


def test_a_tie_counts_half_a_misordered_pair(view, target) -> None:
    """A source predicting two trials equal cannot tell them apart: it is a coin flip on that
    pair, neither right nor wrong, so it loses to a source that orders the trials right and
    beats one that orders them backwards."""
    prior = TransferPrior(fitted_sources(view, SPACE), None, seed=0)
    y = copula(target["score"].to_numpy()[:12])
    right, backwards, tied = y, -y, np.zeros_like(y)
    losses = prior._bootstrap_losses(np.vstack([right, backwards, tied]), y)
    assert np.all(losses[0] == 0) and np.all(losses[1] > 0)
    assert np.allclose(losses[2], losses[1] / 2)


def test_zero_shot_without_meta_features_is_not_flat(view) -> None:
    prior = TransferPrior(fitted_sources(view, SPACE), None, seed=0)
    X = SPACE.encode(SPACE.sample(200, np.random.default_rng(0)))
    members = prior.predict_members(X)
    assert members.shape == (prior.n_members, 200)
    assert members[0].std() > 0.1  # configurations are told apart
    assert np.abs(members[1] - members[0]).max() > 0  # members weigh resampled sources


def test_with_meta_features_the_surrogate_is_the_zero_shot_prior(view, target) -> None:
    features = dict(view.meta.iloc[0])
    warm = WarmStart(view, features, "binary")
    prior = warm.prior(SPACE, seed=0, members=3, transfer=True)
    plain = warm.prior(SPACE, seed=0, members=3)  # the default: no re-weighting next to it
    assert isinstance(prior, TransferPrior) and isinstance(plain, KBPrior)
    X = SPACE.encode(target.head(20))
    assert np.allclose(prior.predict_members(X), plain.predict_members(X))


def test_the_warm_start_is_re_ranked_after_contradicting_trials(view, target) -> None:
    sources = fitted_sources(view.without(str(target["dataset_id"].iloc[0])), SPACE)
    points = greedy_portfolio(view, SPACE, 8)
    searcher = SurrogateSearcher(
        SPACE, prior=TransferPrior(sources, None, seed=0), points_to_evaluate=points, seed=0
    )
    asked = [searcher.ask() for _ in range(3)]
    assert asked == points[:3]
    for rank, config in enumerate(asked):
        searcher.observe(config, float(rank))  # the portfolio's first picks did worst
    remaining = searcher.points_to_evaluate
    assert sorted(map(str, remaining)) == sorted(map(str, points[3:]))
    assert remaining != points[3:]
    predicted = searcher.prior.predict_members(SPACE.encode(remaining)).mean(axis=0)
    assert np.all(np.diff(predicted) <= 1e-12)  # best predicted first


def test_greedy_portfolio_covers_different_sources(view) -> None:
    picks = greedy_portfolio(view, SPACE, 5)
    assert len(picks) == 5 and len({str(p) for p in picks}) == 5
    assert all(SPACE.contains(p) for p in picks)
    sources = fitted_sources(view, SPACE)
    performance = sources.predict(SPACE.encode(picks))
    # each pick raises the mean over sources of the best so far
    best_so_far = np.maximum.accumulate(performance, axis=1).mean(axis=0)
    assert np.all(np.diff(best_so_far) > 0)


def test_a_space_no_source_varied_gets_no_transfer(view) -> None:
    temperature = {"type": "float", "low": 0.1, "high": 2.0}
    space = SearchSpace.from_dict({"parameters": {"temperature": temperature}})
    assert fitted_sources(view, space).n_sources == 0
    assert greedy_portfolio(view, space, 3) == []


def test_transfer_next_to_the_surrogate_is_opt_in(view) -> None:
    warm = WarmStart(view, {}, "binary")
    off = make_searcher("surrogate", SPACE, warm)
    on = make_searcher("surrogate", SPACE, warm, surrogate=SurrogateSettings(transfer=True))
    assert isinstance(on, SurrogateSearcher) and isinstance(on.prior, TransferPrior)
    assert isinstance(off, SurrogateSearcher) and isinstance(off.prior, KBPrior)
