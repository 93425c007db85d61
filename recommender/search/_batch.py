"""Batch acquisition: several configurations per ask, chosen so they train as one stacked model.

The searcher's own `ask` picks the lead configuration (expected improvement on the surrogate, a
random sample, ...). The rest of the batch are new, distinct local perturbations of the lead that
share its training group (`same_group`: for `tune`, `training.group_key`), so `train_many` trains
the whole batch in one group: a small trust region around the acquisition's choice, which costs
about one trial's time when trials are overhead-bound. The searcher then learns every member
through `observe` as usual; neighbours it never proposed are predicted from its prior there.
"""

from __future__ import annotations

from collections.abc import Callable

from recommender.search._base import Config, Searcher, config_key

NEIGHBOURS_PER_SLOT = 20  # perturbations drawn per extra batch member (most change the group)
NEIGHBOUR_SCALE = 0.15  # jitter of the perturbations, in the space's unit scale


def ask_batch(
    searcher: Searcher, size: int, same_group: Callable[[Config, Config], bool]
) -> list[Config]:
    """Up to `size` configurations: the searcher's next one, then neighbours in its group.

    Returns [] when the searcher has nothing new; fewer than `size` when too few neighbours
    share the lead's group. Every returned configuration is handed out (not proposed again).
    """
    lead = searcher.ask()
    if lead is None or size <= 1:
        return [] if lead is None else [lead]
    taken = {config_key(lead)}
    extras: list[Config] = []
    for config in searcher.space.neighbors(
        lead, searcher.rng, n=NEIGHBOURS_PER_SLOT * (size - 1), scale=NEIGHBOUR_SCALE
    ):
        key = config_key(config)
        if key not in taken and searcher.is_new(config) and same_group(lead, config):
            taken.add(key)
            extras.append(config)
            if len(extras) == size - 1:
                break
    # Handing them out through `ask` marks them as proposed, like any other configuration.
    searcher.points_to_evaluate[:0] = extras
    return [lead] + [c for c in (searcher.ask() for _ in extras) if c is not None]
