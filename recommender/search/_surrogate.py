"""Warm-started Bayesian optimisation: the KB surrogate as prior, this dataset's trials on top.

Each ensemble member of the KB surrogate (fitted once per KB state, see `learn.fitted_surrogate`)
gives a prior prediction; a small LightGBM per member is boosted from that prediction
(`init_score`) on this dataset's own trials, scored by the copula transform within the dataset. So
the KB decides where nothing is known yet, and this dataset's evidence overrides it where trials
exist. Failed and diverged trials take the worst score, which pulls predictions down around them:
known failing regions are avoided. The next configuration maximises expected improvement over a
candidate pool: space samples (predicted by the prior once per study) plus fresh neighbours of the
best trials.

Cost per `ask`: `n_members` small fits (~50 trees on <= a few hundred rows) and predictions on
~1,000 candidates: tens of milliseconds, independent of the KB's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr

from recommender.learn import copula
from recommender.search._base import Config, Searcher, config_key
from recommender.search._prior import FlatPrior, Prior
from recommender.search._transfer import AdaptivePrior, TransferPortfolio
from recommender.space import SearchSpace

MIN_TRIALS_TO_LEARN = 3  # below this, the prior alone ranks candidates
# Uncertainty per unit of distance to the nearest trial under a flat prior: a candidate as far
# from the trials as random points of the space typically are (a mean distance per parameter of
# about 0.2) is as uncertain as the scores themselves (spread 1 after the copula transform).
FLAT_PRIOR_DISTANCE_SCALE = 5.0
# Random trials before the first expected-improvement proposal under a flat prior, as TPE's and
# SMAC's initial designs: with nothing known, the most uncertain candidates are the ones farthest
# from the trials, extreme in many parameters at once, and a model of a handful of trials
# exploits too soon; random samples of the space's prior are typical configurations instead.
FLAT_PRIOR_STARTUP_TRIALS = 5


class SurrogateSearcher(Searcher):
    """Expected improvement on the KB prior plus a per-dataset correction.

    Args:
        space, points_to_evaluate, seed: as `Searcher`.
        prior: the KB's belief (`KBPrior`); None for a flat prior (no knowledge base).
        n_candidates: space samples in the fixed candidate pool.
        n_neighbors: perturbations drawn around each of the `n_best` best trials per `ask`.
        n_estimators: trees of each per-dataset correction model.
        xi: exploration margin of expected improvement (normalised-score units).
        distance_scale: uncertainty added per unit of distance to the nearest trial; None: 1.0
            under a knowledge prior (its members' spread already says where it knows little),
            `FLAT_PRIOR_DISTANCE_SCALE` under a flat one, where the distance from the trials is
            all the uncertainty there is (with 1.0 such a search proposed near its best trials
            so soon that it fell behind random search on the learning-curve benchmarks).
        n_startup: configurations handed out as random samples before the searcher's own
            proposals; None: `FLAT_PRIOR_STARTUP_TRIALS` under a flat prior, 0 under a
            knowledge prior (whose first proposals are the KB's best guesses).
        candidates: a fixed candidate pool instead of `n_candidates` space samples (a replay
            of stored runs, or a finite list to choose from); pass `n_neighbors=0` with it.
        portfolio: configurations of earlier studies, proposed before the searcher's own until
            its own model outweighs them (`TransferPortfolio`); they also join the candidate
            pool.
    """

    name = "surrogate"

    def __init__(
        self,
        space: SearchSpace,
        *,
        prior: Prior | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] = (),
        seed: int = 0,
        n_candidates: int = 1000,
        n_neighbors: int = 20,
        n_best: int = 3,
        n_estimators: int = 30,
        xi: float = 0.01,
        distance_scale: float | None = None,
        n_startup: int | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        portfolio: TransferPortfolio | None = None,
    ) -> None:
        super().__init__(space, points_to_evaluate=points_to_evaluate, seed=seed)
        self.prior = prior if prior is not None else FlatPrior()
        self.n_candidates = n_candidates
        self.n_neighbors = n_neighbors
        self.n_best = n_best
        self.n_estimators = n_estimators
        self.xi = xi
        flat = isinstance(self.prior, FlatPrior)
        default_scale, default_startup = (
            (FLAT_PRIOR_DISTANCE_SCALE, FLAT_PRIOR_STARTUP_TRIALS) if flat else (1.0, 0)
        )
        self.distance_scale = default_scale if distance_scale is None else distance_scale
        self.n_startup = default_startup if n_startup is None else n_startup
        self._candidates = None if candidates is None else [space.project(c) for c in candidates]
        self.portfolio = portfolio
        self._pool: list[Config] | None = None
        self._pool_X = np.zeros((0, len(space.names)))
        self._pool_prior = np.zeros((self.prior.n_members, 0))
        self._low = np.zeros(len(space.names))
        self._span = np.ones(len(space.names))
        self._own_X: list[np.ndarray] = []  # per observation: encoded row
        self._own_prior: list[np.ndarray] = []  # per observation: (members,)
        self._last: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # last ask's candidates
        # The correction models fitted on the trials so far (one per prior member), kept until a
        # trial is learned or the prior re-weighted: a batched ask (`ask`, then `choose`) and
        # asks for pending trials share them instead of refitting on the same trials.
        self._fitted_corrections: list[Any] | None = None

    def observe(self, config: Mapping[str, Any], score: float) -> None:
        self.observe_many([config], [score])

    def observe_many(self, configs: Sequence[Mapping[str, Any]], scores: Sequence[float]) -> None:
        """Learn trials; a batch (history told at once) is encoded and predicted together.
        A trial asked from the pool reuses the encoding and prior computed for it then."""
        if not configs:
            return
        for config, score in zip(configs, scores, strict=True):
            Searcher.observe(self, config, score)
        self._fitted_corrections = None
        told = self.configs[-len(configs) :]
        X = self.space.encode(told)
        prior = self.prior.predict_members(X)
        for i, config in enumerate(told):
            cached = self._last.get(config_key(config)) if self._last else None
            self._own_X.append(cached[0] if cached is not None else X[i])
            self._own_prior.append(cached[1] if cached is not None else prior[:, i])
        if isinstance(self.prior, AdaptivePrior) and self.prior.observe(
            np.stack(self._own_X), self._own_y()
        ):
            self._after_reweighting()

    def _after_reweighting(self) -> None:
        """The prior re-weighted its sources: refresh what was predicted with the old weights
        and re-rank the warm-start points left (adaptive warm start)."""
        self._own_prior = list(self.prior.predict_members(np.stack(self._own_X)).T)
        self._fitted_corrections = None
        if self._pool is not None:
            self._pool_prior = self.prior.predict_members(self._pool_X)
        self._last = {}
        if len(self.points_to_evaluate) > 1:
            mean = self.prior.predict_members(self.space.encode(self.points_to_evaluate))
            order = np.argsort(-mean.mean(axis=0), kind="stable")
            self.points_to_evaluate = [self.points_to_evaluate[i] for i in order]

    def _suggest(self) -> Config | None:
        if len(self._seen) < self.n_startup:  # handed out so far, pending trials included
            return self._random_start()
        if self.portfolio is not None:
            X_own = np.stack(self._own_X) if self._own_X else np.zeros((0, len(self.space.names)))
            point = self.portfolio.propose(X_own, self.is_new)
            if point is not None:
                return point
        pool = self._ensure_pool()
        fresh = self._neighbours()
        fresh_X = self.space.encode(fresh) if fresh else np.zeros((0, self._pool_X.shape[1]))
        candidates = pool + fresh
        X = np.vstack([self._pool_X, fresh_X])
        prior = np.hstack([self._pool_prior, self.prior.predict_members(fresh_X)])
        keep = np.array([self.is_new(c) for c in candidates])
        if not keep.any():
            return self._random_new()
        candidates = [c for c, k in zip(candidates, keep, strict=True) if k]
        X, prior = X[keep], prior[:, keep]
        members = prior + self._corrections(X)
        mean, spread = members.mean(axis=0), members.std(axis=0)
        chosen = int(np.argmax(self._acquisition(X, mean, spread)))
        self._last = {config_key(candidates[chosen]): (X[chosen], prior[:, chosen])}
        return candidates[chosen]

    def _random_start(self) -> Config | None:
        """A random configuration not tried yet: one of the fixed candidates when they were
        given (a finite list to choose from), otherwise a sample of the space's prior."""
        if self._candidates is None:
            return self._random_new()
        new = [c for c in self._candidates if self.is_new(c)]
        return new[int(self.rng.integers(len(new)))] if new else None

    def choose(
        self, candidates: Sequence[Config], n: int, pending: Sequence[Config] = ()
    ) -> list[Config]:
        """`n` of `candidates` by expected improvement, one at a time, each pick then believed
        a trial at its predicted value (Kriging believer): it raises the bar to beat where it
        is predicted best, and the uncertainty near it drops, so the picks spread out."""
        if len(candidates) <= n:
            return list(candidates)
        self._ensure_pool()
        X = self.space.encode([*candidates, *pending])
        members = self.prior.predict_members(X) + self._corrections(X)
        mean, spread = members.mean(axis=0), members.std(axis=0)
        believed = list(range(len(candidates), len(X)))  # the pending ones
        picks: list[int] = []
        for _ in range(n):
            acquisition = self._acquisition(X, mean, spread, believed)[: len(candidates)]
            acquisition[picks] = -np.inf
            picks.append(int(np.argmax(acquisition)))
            believed.append(picks[-1])
        return [candidates[i] for i in picks]

    def _ensure_pool(self) -> list[Config]:
        """The fixed candidate pool, encoded and predicted by the prior once per study, and the
        unit scale it defines; returns the pool."""
        if self._pool is not None:
            return self._pool
        pool = self._candidates or self.space.sample(self.n_candidates, self.rng)
        if self.portfolio is not None:
            pool = pool + self.portfolio.candidates
        self._pool = pool
        self._pool_X = self.space.encode(self._pool)
        self._pool_prior = self.prior.predict_members(self._pool_X)
        low, high = np.nanmin(self._pool_X, axis=0), np.nanmax(self._pool_X, axis=0)
        self._low = np.nan_to_num(low)
        self._span = np.where(high > low, high - low, 1.0)
        self._span[list(self.space.categorical_indices)] = 1.0  # a mismatch is >= 1 apart
        return pool

    def _acquisition(
        self, X: np.ndarray, mean: np.ndarray, spread: np.ndarray, believed: Sequence[int] = ()
    ) -> np.ndarray:
        """Acquisition at encoded candidates `X` with predicted `mean` and members' `spread`;
        rows `believed` of `X` count as trials scored at their predicted mean."""
        trials = [*self._own_X, *X[list(believed)]]
        std = spread
        if trials:
            # Trees predict a constant far from the data, so their spread alone never grows
            # there: uncertainty also grows with the distance to the nearest trial.
            std = np.hypot(spread, self.distance_scale * self._nearest_distance(X, trials))
        if len(self.scores) < MIN_TRIALS_TO_LEARN:
            return mean + std  # nothing of ours to improve on yet: optimistic prior
        best = max(float(np.max(self._own_y())), *mean[list(believed)], -np.inf)
        return expected_improvement(mean, std, best=best, xi=self.xi)

    def _unit(self, X: np.ndarray) -> np.ndarray:
        """Encoded rows on a unit scale (categorical codes kept), inactive as -1."""
        return np.nan_to_num((X - self._low) / self._span, nan=-1.0).astype(np.float32)

    def _nearest_distance(self, X: np.ndarray, trials: Sequence[np.ndarray]) -> np.ndarray:
        """Mean per-parameter distance (unit scale, each term at most 1: a categorical mismatch
        or an active/inactive difference counts 1) from each candidate to the nearest of the
        encoded `trials`."""
        new, own = self._unit(X), self._unit(np.stack(trials))
        diff = np.minimum(np.abs(new[:, None, :] - own[None, :, :]), 1.0)
        return diff.mean(axis=2).min(axis=1)

    def _own_y(self) -> np.ndarray:
        return copula(np.asarray(self.scores, dtype=float))

    def _neighbours(self) -> list[Config]:
        """Local perturbations of the best finished trials so far."""
        order = np.argsort(-np.nan_to_num(self.scores, nan=-np.inf))
        finite = [
            i for i in order if np.isfinite(self.scores[i]) and self.space.contains(self.configs[i])
        ][: self.n_best]
        out: list[Config] = []
        for i in finite:
            out += self.space.neighbors(self.configs[i], self.rng, n=self.n_neighbors)
        return out

    def _corrections(self, X_new: np.ndarray) -> np.ndarray:
        """Per member, this dataset's correction of the prior at encoded candidates (zeros early
        on)."""
        if len(self.scores) < MIN_TRIALS_TO_LEARN:
            return np.zeros((self.prior.n_members, len(X_new)))
        if self._fitted_corrections is None:
            self._fitted_corrections = self._fit_corrections()
        return np.stack([model.predict(X_new) for model in self._fitted_corrections])

    def _fit_corrections(self) -> list[Any]:
        """One LightGBM model per prior member on this dataset's trials, boosted from that
        member's prediction (its residual is what the KB got wrong here)."""
        from lightgbm import LGBMRegressor  # with scikit-learn: only once there is one to fit

        X_own = np.stack(self._own_X)
        y = self._own_y()
        own_prior = np.stack(self._own_prior, axis=1)
        models = []
        for member in range(self.prior.n_members):
            # Member 0 sees every trial; the others a bootstrap resample (their spread is the
            # uncertainty that remains about this dataset).
            weight = (
                np.ones(len(y))
                if member == 0
                else np.bincount(self.rng.integers(0, len(y), len(y)), minlength=len(y))
            )
            if np.count_nonzero(weight) < 2:
                weight = np.ones(len(y), dtype=int)
            keep = weight > 0
            model = LGBMRegressor(
                n_estimators=self.n_estimators,
                learning_rate=0.15,
                num_leaves=7,
                min_child_samples=2,
                min_data_in_bin=1,
                subsample=1.0,
                random_state=self.seed + member,
                n_jobs=1,
                verbose=-1,
            )
            model.fit(
                X_own[keep],
                y[keep],
                sample_weight=weight[keep].astype(float),
                init_score=own_prior[member, keep],
                categorical_feature=list(self.space.categorical_indices) or "auto",
            )
            models.append(model)
        return models


def expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.01
) -> np.ndarray:
    """E[max(f - best - xi, 0)] for f ~ N(mean, std^2), higher-is-better scores."""
    std = np.maximum(std, 1e-9)
    z = (mean - best - xi) / std
    density = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)  # the standard normal's, as scipy's
    return (mean - best - xi) * ndtr(z) + std * density
