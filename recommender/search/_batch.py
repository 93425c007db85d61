"""Batch acquisition: several configurations per ask, chosen so they train as one stacked model.

The searcher's own `ask` picks the lead configuration (expected improvement on the surrogate, a
random sample, a warm-start suggestion, ...). The rest of the batch are new, distinct local
perturbations of the lead that keep its `shared` hyperparameters (for `tune`, the fields of
`training.BATCH_FIELDS`: optimizer, batch size, depth, width, batch norm, activation and the
recipe elements: preprocessing, target transform, label smoothing, embeddings and their size,
ensembles) and move the others (learning rate and schedule, regularisation, momentum, ...). So
`train_many` trains the whole batch as one group (but for learned categorical embeddings of a
table with columns to embed, which it runs member by member): a small trust region around the
acquisition's choice, which costs little more than one trial while trials are overhead-bound.
Of `CANDIDATES_PER_SLOT` perturbations per member the searcher's `choose` keeps the batch: the
surrogate's expected improvement with the batch so far as believed trials (Kriging believer),
so the members are the promising ones and spread out; a strategy without an acquisition keeps
them in drawing order. The searcher then learns every member through `observe` as usual.
"""

from __future__ import annotations

from collections.abc import Collection

from recommender.search._base import Config, Searcher, config_key

CANDIDATES_PER_SLOT = 16  # perturbations drawn per extra batch member, for `choose` to rank
NEIGHBOUR_SCALE = 0.15  # jitter of the perturbations, in the space's unit scale


def ask_batch(searcher: Searcher, size: int, shared: Collection[str]) -> list[Config]:
    """Up to `size` configurations: the searcher's next one, then neighbours sharing its
    `shared` hyperparameters.

    Warm-start points still waiting come first, as they are (they are the strategy's best
    guesses, whatever their groups). Returns [] when the searcher has nothing new; fewer than
    `size` when the neighbourhood holds too few new configurations. Every returned
    configuration is handed out (not proposed again).
    """
    batch: list[Config] = []
    while len(batch) < max(size, 1) and (searcher.points_to_evaluate or not batch):
        config = searcher.ask()
        if config is None:
            return batch
        batch.append(config)
    wanted = size - len(batch)
    if wanted <= 0:
        return batch
    lead, taken, extras = batch[0], {config_key(c) for c in batch}, []
    for neighbour in searcher.space.neighbors(
        lead, searcher.rng, n=CANDIDATES_PER_SLOT * wanted, scale=NEIGHBOUR_SCALE
    ):
        # The lead's active parameters, its shared values, the neighbour's other values.
        config = {k: v if k in shared else neighbour.get(k, v) for k, v in lead.items()}
        key = config_key(config)
        if key not in taken and searcher.is_new(config) and searcher.space.contains(config):
            taken.add(key)
            extras.append(config)
    extras = searcher.choose(extras, wanted, pending=batch)
    # Handing them out through `ask` marks them as proposed, like any other configuration.
    searcher.points_to_evaluate[:0] = extras
    return batch + [c for c in (searcher.ask() for _ in extras) if c is not None]
