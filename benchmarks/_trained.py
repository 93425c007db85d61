"""Trainings a benchmark has already paid for, kept across its runs.

The same configuration trained with the same seed on the same table gives the same result (a
`train_many` member matches its solo run), so a rerun of a benchmark on a grown knowledge base
retrains only the configurations it has not trained before: the library default's runs every
time, and the suggestions the surrogate still picks. The store is a JSON-lines file; a worker
appends each seed's trainings as soon as they finish (under a lock: workers share the file), so a
run stopped in the middle of a large table keeps what it had trained."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scripts.build_seed_kb import config_key
from training import PreparedData, TrainConfig, train_many
from training.metrics import METRIC_DIRECTIONS

Outcome = tuple[str, float]  # a run's status and objective value
TrainedKey = tuple[str, str, int, tuple[tuple[str, Any], ...]]


def trained_key(dataset_id: str, metric: str, seed: int, config: TrainConfig) -> TrainedKey:
    """A training's identity: the table (its fingerprint), the objective, the seed, the
    configuration up to its floats' last bits (`config_key`)."""
    return dataset_id, metric, seed, config_key(config.to_dict())


def _key_of(entry: Mapping[str, Any]) -> TrainedKey:
    config = TrainConfig.from_dict(entry["config"])
    return trained_key(entry["dataset_id"], entry["metric"], entry["seed"], config)


def oriented(
    outcomes: Sequence[Sequence[Outcome]], metric: str, failed: float = np.nan
) -> np.ndarray:
    """`train_known`'s outcomes as `metric` values oriented so that higher is better, per
    configuration and seed; `failed` where a training did not finish (failed or diverged)."""
    sign = 1.0 if METRIC_DIRECTIONS[metric] == "maximize" else -1.0
    return np.array(
        [[sign * v if status in ("ok", "pruned") else failed for status, v in row]
         for row in outcomes],
        dtype=float,
    )  # fmt: skip


def load_trained(path: Path) -> dict[TrainedKey, Outcome]:
    """The outcomes stored in `path` (none if it does not exist yet)."""
    if not path.exists():
        return {}
    entries = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {_key_of(e): (e["status"], e["value"]) for e in entries}


def append_trained(path: Path, entries: Iterable[Mapping[str, Any]]) -> None:
    """Append under an exclusive lock, so that lines of processes sharing `path` never mix."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.writelines(json.dumps(dict(e)) + "\n" for e in entries)


def train_known(
    configs: Sequence[TrainConfig],
    data: PreparedData,
    *,
    dataset_id: str,
    metric: str,
    seeds: int,
    known: Mapping[TrainedKey, Outcome],
    store: Path | None = None,
) -> tuple[list[list[Outcome]], list[dict[str, Any]]]:
    """Each configuration's outcome per seed (`[configs][seeds]`), training only those `known`
    lacks (one `train_many` call per seed); also the new entries, which are appended to `store`
    (when given) seed by seed as they are trained."""
    keys = [[trained_key(dataset_id, metric, s, c) for s in range(seeds)] for c in configs]
    found: dict[TrainedKey, Outcome] = {}
    fresh: list[dict[str, Any]] = []
    for seed in range(seeds):
        todo = {k[seed]: c for c, k in zip(configs, keys, strict=True) if k[seed] not in known}
        if not todo:
            continue
        results = train_many(list(todo.values()), data, device="cpu", seed=seed, metric=metric)
        this_seed: list[dict[str, Any]] = []
        for (key, config), result in zip(todo.items(), results, strict=True):
            found[key] = (result.status, result.value)
            this_seed.append({
                "dataset_id": dataset_id,
                "metric": metric,
                "seed": seed,
                "config": config.to_dict(),
                "status": result.status,
                "value": result.value,
            })  # fmt: skip
        if store is not None:
            append_trained(store, this_seed)
        fresh += this_seed
    return [[found[k] if k in found else known[k] for k in row] for row in keys], fresh
