"""The pruner base class: one rule per pruner, one callback for all; arguments checked."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hpo_common.errors import InputError
from recommender._wiring import make_pruner
from recommender.search import BasePruner, MedianPruner, PruningCallback


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
