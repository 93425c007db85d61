"""Transfer that adapts to the dataset at hand: past datasets weighted by how they rank its trials.

A `TransferPrior` mixes the meta-feature prior (`learn.KBPrior`, when the dataset has
meta-features) and one model per past dataset (`learn.SourceModels`). Before any trial the
meta-feature prior alone decides (it is what a zero-shot `suggest` ranks by); without
meta-features, every source that varied a parameter of the space weighs the same. Once the
dataset has trials, `observe` re-weights as RGPE does (Feurer et al. 2018, "Scalable meta-learning
for Bayesian optimization"):

- the trials are resampled (bootstrap); in each sample every model's ranking loss is the number of
  pairs of trials it orders differently from their scores, a pair it predicts equal counting half
  (a tie is a coin flip, not a mistake: a source that never varied what tells two trials apart, or
  a model too small to split yet, predicts ties and would otherwise lose every pair it cannot tell);
- a model's weight is its share of the samples in which it has the lowest loss (ties split);
- this dataset's own model, predicting each trial from the others (out-of-fold, at most 5
  folds), competes too: its share is weight taken off the prior, so with enough own evidence
  the prior fades and the searcher's own correction decides;
- a model that never wins gets no share of its own, and one whose median loss is worse than
  the own model's 95th percentile does not compete (RGPE's guard against dilution by many weak
  sources);
- the zero-shot belief (the meta-feature prior, or without it every source alike) competes as
  one more model, and its share goes to the models as that belief weighs them. Why: the bootstrap
  treats a handful of trials as the whole truth, so among 60 sources some order a few pairs best
  by chance and the shares gather on them. The belief is their consensus, with no single
  source's luck to ride on: it keeps its share until single sources rank the trials better in
  most resamples. That is shrinkage toward the zero-shot weights by the evidence, with no
  constant of its own: the same loss on the same trials decides how far the weights move, as it
  decides every other weight. (A fixed Laplace shrinkage, one pseudo-pair per competing model,
  was measured too and not kept: see the README's black-box transfer figures.)

The same weights steer `TransferPortfolio`: the greedy portfolio across earlier studies
(`learn.greedy_portfolio`), run two members at a time, the evidence choosing which goes first
(each study weighted as the prior weighs it), then continued with the evidence's own picks,
until the own model weighs as much as the studies do or nothing is left to gain.

Members (the searcher's spread): member 0 weighs by all bootstrap samples, member m by the m-th
block of them, so the members disagree where it is unclear which source to trust; before any
trial, members other than 0 weigh a bootstrap resample of the sources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from recommender.learn import greedy_gains, greedy_order
from recommender.search._base import Config
from recommender.search._prior import Prior

MIN_TRIALS_TO_WEIGH = 2  # one pair of trials already says which sources order it right
MAX_TRIALS_TO_WEIGH = 60  # the most recent ones: the loss costs trials^2 per model and sample
SET_BLOCK = 2  # even-portfolio members the evidence orders at a time: the fewest with a choice


class Sources(Protocol):
    """One model per past dataset (`learn.SourceModels` satisfies it)."""

    @property
    def n_sources(self) -> int: ...

    def predict(self, X: np.ndarray, which: np.ndarray | None = None) -> np.ndarray: ...

    def cv_predict(self, X: np.ndarray, y: np.ndarray) -> np.ndarray: ...

    def performance(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class AdaptivePrior(Prior, Protocol):
    """A prior that re-weights itself on the dataset's own trials (the searcher tells it)."""

    def observe(self, X: np.ndarray, scores: np.ndarray) -> bool:
        """Learn from encoded trials and their normalised scores; True when predictions changed."""
        ...


class TransferPrior:
    """The meta-feature prior and per-source models, weighted by ranking loss on own trials.

    Args:
        sources: one model per past dataset.
        base: the meta-feature prior (None without meta-features); its `n_members` sets this
            prior's.
        n_members: members without a base.
        n_bootstrap: bootstrap samples of the trials per re-weighting.
        seed: makes the bootstrap and the zero-shot resamples repeatable.
    """

    def __init__(
        self,
        sources: Sources,
        base: Prior | None = None,
        *,
        n_members: int = 5,
        n_bootstrap: int = 200,
        seed: int = 0,
    ) -> None:
        self.sources = sources
        self.base = base
        self.n_members = base.n_members if base is not None else n_members
        self.n_bootstrap = n_bootstrap
        self.rng = np.random.default_rng(seed)
        self.n_models = sources.n_sources + (base is not None)  # the base comes first
        self.zero_shot = self._zero_shot()  # (members, models + 1): the last is the own model
        self.weights = self.zero_shot.copy()
        self._memo: dict[bytes, np.ndarray] = {}  # encoded rows -> every model's predictions
        self._trials: dict[bytes, np.ndarray] = {}  # one trial's row -> every model's mean

    def _zero_shot(self) -> np.ndarray:
        weights = np.zeros((self.n_members, self.n_models + 1))
        if self.base is not None:
            weights[:, 0] = 1.0
            return weights
        n = self.sources.n_sources
        if n == 0:
            return weights
        weights[0, :n] = 1.0 / n
        for member in range(1, self.n_members):
            weights[member, :n] = np.bincount(self.rng.integers(0, n, n), minlength=n) / n
        return weights

    @property
    def source_weights(self) -> np.ndarray:
        """Member 0's weight of each source (the order of `sources`)."""
        return self.weights[0, self.n_models - self.sources.n_sources : self.n_models]

    @property
    def zero_shot_source_weights(self) -> np.ndarray:
        """Member 0's weight of each source before any trial."""
        return self.zero_shot[0, self.n_models - self.sources.n_sources : self.n_models]

    @property
    def base_weight(self) -> float:
        return float(self.weights[0, 0]) if self.base is not None else 0.0

    @property
    def own_weight(self) -> float:
        return float(self.weights[0, -1])

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        predictions = self._models(X)  # (models, members, rows)
        return np.einsum("mk,kmr->mr", self.weights[:, :-1], predictions)

    def observe(self, X: np.ndarray, scores: np.ndarray) -> bool:
        """Re-weight on encoded trials `X` and their normalised scores (higher is better)."""
        X, y = np.asarray(X, dtype=float), np.asarray(scores, dtype=float)
        if len(y) < MIN_TRIALS_TO_WEIGH or self.n_models == 0 or np.ptp(y) == 0:
            return False
        X, y = X[-MAX_TRIALS_TO_WEIGH:], y[-MAX_TRIALS_TO_WEIGH:]
        predictions = self._trial_predictions(X)  # (models, trials)
        zero_shot = self.zero_shot[0, :-1] @ predictions  # the belief before any trial
        own = self.sources.cv_predict(X, y)
        # (models + 2, samples): the models, the zero-shot belief, the own model
        losses = self._bootstrap_losses(np.vstack([predictions, zero_shot, own]), y)
        # RGPE's dilution guard: a model whose median loss exceeds the own model's 95th
        # percentile does not compete
        losses[:-1][np.median(losses[:-1], axis=1) > np.percentile(losses[-1], 95)] = np.inf
        shares = np.empty((self.n_members, self.n_models + 2))
        blocks = np.array_split(np.arange(self.n_bootstrap), max(self.n_members - 1, 1))
        shares[0] = _win_shares(losses)
        for member in range(1, self.n_members):
            shares[member] = _win_shares(losses[:, blocks[member - 1]])
        # the zero-shot belief's share goes to the models as that belief weighs them
        weights = np.delete(shares, -2, axis=1) + shares[:, -2:-1] * self.zero_shot
        changed = not np.allclose(weights, self.weights)
        self.weights = weights
        return changed

    def _bootstrap_losses(self, predictions: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Misordered pairs of each model in each bootstrap sample of the trials."""
        n = len(y)
        higher = y[:, None] > y[None, :]  # pairs (i, j) with i truly better
        below = predictions[:, :, None] < predictions[:, None, :]
        tied = predictions[:, :, None] == predictions[:, None, :]
        wrong = higher[None] * (below + 0.5 * tied)  # i better, predicted worse (a tie: half)
        counts = np.stack(
            [np.bincount(self.rng.integers(0, n, n), minlength=n) for _ in range(self.n_bootstrap)]
        ).astype(float)  # (samples, trials)
        # loss[k, b] = sum_ij counts[b, i] wrong[k, i, j] counts[b, j]
        return np.einsum("bi,kij,bj->kb", counts, wrong, counts, optimize=True)

    def _trial_predictions(self, X: np.ndarray) -> np.ndarray:
        """Every model's (members') mean prediction of each trial: (models, trials); each trial
        is predicted once, not on every `observe`."""
        keys = [row.tobytes() for row in np.ascontiguousarray(X)]
        new = [i for i, key in enumerate(keys) if key not in self._trials]
        if new:
            fresh = self._models(X[new]).mean(axis=1)
            self._trials.update((keys[i], fresh[:, j]) for j, i in enumerate(new))
        return np.stack([self._trials[key] for key in keys], axis=1)

    def _models(self, X: np.ndarray) -> np.ndarray:
        """Every model's predictions of `X` per member: (models, members, rows); memoised per
        `X`, so a re-weighting of a fixed candidate pool costs one weighted sum."""
        X = np.ascontiguousarray(X, dtype=float)
        key = X.tobytes()
        if key in self._memo:
            self._memo[key] = self._memo.pop(key)  # least recently used goes first
            return self._memo[key]
        parts = []
        if self.base is not None:
            parts.append(self.base.predict_members(X)[None])
        sources = self.sources.predict(X)
        parts.append(np.repeat(sources[:, None, :], self.n_members, axis=1))
        out = np.concatenate(parts) if parts else np.zeros((0, self.n_members, len(X)))
        if len(self._memo) >= 8:  # the pool stays; fresh neighbours come and go
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = out
        return out


class TransferPortfolio:
    """Configurations of earlier studies, proposed until this study's own model is trusted more.

    Fixed set, adaptive order. The set is the zero-shot greedy portfolio (`learn.greedy_order`
    on the zero-shot weights: even coverage of the earlier studies), up to the pick whose
    marginal gain over them vanishes (every earlier study's best is covered: the length is the
    studies' own, not a constant). It is run in blocks of `SET_BLOCK` (2) members in its own
    order, and within a block the evidence decides which goes first: the member not yet tried
    that most raises the weighted mean, over earlier studies, of the best performance this
    study's trials reach on each (on each study's 0-1 scale, `Sources.performance`), each study
    weighted by the prior now (uniform before two trials, then its RGPE share, the uniform
    belief's share spread evenly, the own model's share taken off); ties go to the even order.
    Once the set is tried, the evidence picks freely among all candidates (the greedy step under
    its weights).

    Why fixed, and why pairs: the evidence of a handful of trials gains early, but every pick it
    makes past the even order pushes one of the even portfolio's members (often the study's
    best) later. With blocks of b, an even member comes at most b - 1 trials late and the study
    has run exactly the even portfolio's first t members at every t that is a multiple of b;
    pairs are the smallest blocks that leave the evidence a choice, so the study has the even
    portfolio's coverage at every even trial and, at an odd one, all of it but one member,
    swapped for the next one where the evidence prefers it. (Measured on the black-box transfer
    benchmark, see the README: the whole set as one block, and blocks doubling with the trials,
    let the evidence push even members late enough to lose at 10 trials.)

    The searcher's own model proposes instead once its weight is at least the earlier studies'
    together (in most bootstrap samples it ranks the trials better than every earlier study:
    RGPE's own evidence that the sources no longer lead), or, after the set, when no candidate
    raises any weighted study's best (every study the prior trusts is covered). No fixed minimum
    gain: a gain is on the earlier studies' scales and says nothing of how good the own model's
    proposals are, while the weights compare the two on the same trials. The rule is checked on
    every `propose`, so the portfolio resumes when a re-weighting gives the sources the lead back.

    Args:
        prior: the transfer prior whose sources and weights decide.
        candidates: configurations of the earlier studies, already in the search space.
        X: their encoding (`SearchSpace.encode`).
    """

    def __init__(
        self, prior: TransferPrior, candidates: Sequence[Mapping[str, Any]], X: np.ndarray
    ) -> None:
        self.prior = prior
        self.candidates = [dict(c) for c in candidates]
        self.performance = prior.sources.performance(X)  # (sources, candidates)
        order, gains = greedy_order(
            self.performance, prior.zero_shot_source_weights, len(self.candidates)
        )
        self.even = order[: int((gains > 0.0).sum())]  # gains never rise: a prefix
        self._trials: dict[bytes, np.ndarray] = {}  # one trial's row -> its performance

    def propose(self, X_trials: np.ndarray, is_new: Callable[[Config], bool]) -> Config | None:
        """Of the even set's first block with a member `is_new` accepts, the member that gains
        most over encoded trials `X_trials`; after the set, the candidate that gains most among
        those `is_new` accepts; None once the own model outweighs the sources or, after the
        set, no candidate gains."""
        if self.prior.own_weight >= self.prior.source_weights.sum():
            return None
        best = np.zeros(self.prior.sources.n_sources)
        if len(X_trials):
            best = np.maximum(best, self._trial_performance(X_trials).max(axis=1))
        gains = greedy_gains(self.performance, self.prior.source_weights, best)
        left = [r for r, i in enumerate(self.even) if is_new(self.candidates[i])]
        if left:
            end = (left[0] // SET_BLOCK + 1) * SET_BLOCK  # the block of the first one left
            block = [self.even[r] for r in left if r < end]
            return self.candidates[max(block, key=lambda i: gains[i])]  # ties: the even order
        for i in np.argsort(-gains, kind="stable"):
            if gains[i] <= 0.0:
                return None
            if is_new(self.candidates[i]):
                return self.candidates[i]
        return None

    def _trial_performance(self, X: np.ndarray) -> np.ndarray:
        """(sources, trials), each trial computed once."""
        keys = [row.tobytes() for row in np.ascontiguousarray(X, dtype=float)]
        new = [i for i, key in enumerate(keys) if key not in self._trials]
        if new:
            fresh = self.prior.sources.performance(X[new])
            self._trials.update((keys[i], fresh[:, j]) for j, i in enumerate(new))
        return np.stack([self._trials[key] for key in keys], axis=1)


def _win_shares(losses: np.ndarray) -> np.ndarray:
    """Per model, its share of the samples (columns) where its loss is the lowest; ties split."""
    best = losses == losses.min(axis=0, keepdims=True)
    return (best / best.sum(axis=0, keepdims=True)).mean(axis=1)
