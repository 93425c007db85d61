"""The pruner base class: one rule per pruner, one callback for all; arguments checked; the
envelope rule (no model, the study's own curves)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hpo_common.errors import InputError
from recommender._wiring import make_pruner
from recommender.search import BasePruner, EnvelopePruner, MedianPruner, PruningCallback


class _StopAtThree(BasePruner):
    def should_stop(self, epoch: int, curve: Sequence[float], history, sign: float) -> bool:  # type: ignore[no-untyped-def]
        return epoch >= 3


def test_a_pruner_writes_only_its_rule_and_gets_the_callback() -> None:
    pruner = _StopAtThree()
    stop = pruner.callback([[0.5, 0.6]], "maximize")
    assert isinstance(stop, PruningCallback)
    assert [stop(epoch, 0.1) for epoch in (1, 2, 3)] == [False, False, True]
    assert stop.curve == [0.1, 0.1, 0.1]
    assert make_pruner(pruner) is pruner  # an object passes through the wiring as it is
    with pytest.raises(TypeError):
        BasePruner()  # type: ignore[abstract]


@pytest.mark.parametrize("kwargs", [{"n_startup_trials": -1}, {"n_warmup_epochs": -2}])
def test_median_pruner_checks_its_arguments(kwargs: dict[str, int]) -> None:
    with pytest.raises(InputError, match=r"the median rule needs n_startup_trials >= 0"):
        MedianPruner(**kwargs)


def test_direction_is_checked_when_the_callback_is_made() -> None:
    with pytest.raises(InputError, match="direction must be minimize or maximize"):
        MedianPruner().callback([], "up")


# Three earlier trials (a loss to minimise): the best reached 0.30; after epoch 3 the most any of
# them still improved is 0.40 - 0.30 = 0.10 (the slow starter), the others 0.05 and 0.02. The
# rule judged without slack from three such trials (the defaults: five, slack 3).
TIGHT = EnvelopePruner(n_startup_trials=3, slack=1.0)
EARLIER = [
    [0.90, 0.60, 0.40, 0.35, 0.30],
    [0.70, 0.50, 0.45, 0.42, 0.40],
    [0.60, 0.55, 0.52, 0.51, 0.50],
]


def test_envelope_stops_a_trial_that_no_earlier_trial_could_have_caught_up_from() -> None:
    stop = TIGHT.callback(EARLIER, "minimize")
    # 0.45 at epoch 3: 0.45 - 0.10 = 0.35 stays behind 0.30.
    assert [stop(epoch, v) for epoch, v in enumerate([0.8, 0.6, 0.45], 1)] == [False, False, True]


def test_envelope_lets_a_trial_within_the_largest_later_improvement_go_on() -> None:
    stop = TIGHT.callback(EARLIER, "minimize")
    # 0.39 at epoch 3 could still reach 0.29 if it improves as the slow starter did; flat at
    # epoch 4, the most still to come is 0.05 (0.35 -> 0.30), and it stops.
    decisions = [stop(epoch, v) for epoch, v in enumerate([0.8, 0.6, 0.39, 0.39], 1)]
    assert decisions == [False, False, False, True]
    # With twice the slack a trial further behind goes on too; the score direction works alike.
    wide = EnvelopePruner(n_startup_trials=3, slack=2.0).callback(EARLIER, "minimize")
    assert not any(wide(epoch, v) for epoch, v in enumerate([0.8, 0.6, 0.45], 1))
    scores = TIGHT.callback([[-v for v in c] for c in EARLIER], "maximize")
    assert [scores(epoch, -v) for epoch, v in enumerate([0.8, 0.6, 0.45], 1)][-1] is True


def test_envelope_waits_for_enough_earlier_trials_past_the_epoch() -> None:
    stop = TIGHT.callback(EARLIER[:2], "minimize")  # two earlier trials: too few
    assert not any(stop(epoch, 5.0) for epoch in range(1, 5))
    # By default five: with three, not even a curve stuck far behind is stopped.
    stop = EnvelopePruner().callback(EARLIER, "minimize")
    assert not any(stop(epoch, 5.0) for epoch in range(1, 5))
    stop = EnvelopePruner().callback(EARLIER + EARLIER[1:], "minimize")
    assert any(stop(epoch, 5.0) for epoch in range(1, 5))
    # Past the last epoch any earlier trial reached there is nothing to compare with.
    stop = EnvelopePruner(n_startup_trials=1, min_epochs=1).callback(EARLIER, "minimize")
    assert [stop(epoch, 5.0) for epoch in range(1, 7)] == [True] * 4 + [False] * 2


def test_envelope_tells_the_searcher_its_bound_behind_the_best() -> None:
    """A trial it stopped is told as its best plus the largest later improvement (0.45 - 0.10),
    behind the best trial (0.30), not as the value it reached (0.45)."""
    assert TIGHT.censored_value([0.8, 0.6, 0.45], EARLIER, -1.0) == pytest.approx(0.35)
    scores = [[-v for v in c] for c in EARLIER]
    assert TIGHT.censored_value([-0.8, -0.6, -0.45], scores, 1.0) == pytest.approx(-0.35)
    assert TIGHT.censored_value([0.8, 0.6, 0.45], EARLIER[:2], -1.0) is None  # too few


@pytest.mark.parametrize("kwargs", [{"n_startup_trials": 0}, {"min_epochs": 0}, {"slack": 0.5}])
def test_envelope_checks_its_arguments(kwargs: dict[str, float]) -> None:
    with pytest.raises(InputError, match=r"the envelope rule needs n_startup_trials >= 1"):
        EnvelopePruner(**kwargs)  # type: ignore[arg-type]


def test_envelope_is_a_pruner_name() -> None:
    assert isinstance(make_pruner("envelope"), EnvelopePruner)
