"""Executors run trials; they never see the search, the surrogate or the knowledge base.

The contract is one method: `submit(config, callback) -> Future[TrainResult]`, plus `capacity`
(how many trials, or batches, may run at once) and `close()`. Executors that can also train a
batch as one stacked model (`training.train_many`) have `submit_batch(configs, callbacks)`, one
future per configuration; a batch takes one slot of `capacity`. Those that can train a population
(`training.train_population`, the "pbt" strategy) have `submit_population(configs, ready,
exploit)`, one future for the whole population's results. The prepared data is given once, at
construction. A future that raises (a worker process died) is the driver's to record as a
`failed` trial; the executor stays usable.

- `SequentialExecutor`: trains in this process when `submit` is called (the default).
- `ProcessExecutor`: local worker processes (spawn context, one torch thread each); the prepared
  data reaches each worker once, through the pool initializer, not with every trial.
- `RayExecutor` (`_ray.py`, extra `ray`): Ray tasks on a local or remote cluster.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol

from training import (
    PreparedData,
    TrainConfig,
    TrainResult,
    train,
    train_many,
    train_population,
)

if TYPE_CHECKING:
    from training.population import Exploit

EpochCallback = Callable[[int, float], bool | str] | None


class Executor(Protocol):
    capacity: int

    def submit(
        self, config: TrainConfig, callback: EpochCallback = None
    ) -> Future[TrainResult]: ...

    def close(self) -> None: ...


class SequentialExecutor:
    """Train each trial in this process, at `submit` time."""

    capacity = 1

    def __init__(
        self, data: PreparedData, *, device: str = "auto", seed: int = 0, metric: str | None = None
    ) -> None:
        self.data, self.device, self.seed, self.metric = data, device, seed, metric

    def submit(self, config: TrainConfig, callback: EpochCallback = None) -> Future[TrainResult]:
        return _settled(
            lambda: train(
                config,
                self.data,
                device=self.device,
                seed=self.seed,
                metric=self.metric,
                callback=callback,
            )
        )

    def submit_batch(
        self, configs: list[TrainConfig], callbacks: list[EpochCallback]
    ) -> list[Future[TrainResult]]:
        """Train `configs` together (`train_many`) now; one future per configuration."""
        batch = _settled(
            lambda: train_many(
                configs,
                self.data,
                device=self.device,
                seed=self.seed,
                metric=self.metric,
                callbacks=callbacks,
            )
        )
        return split_batch(batch, len(configs))

    def submit_population(
        self, configs: list[TrainConfig], ready: int, exploit: Exploit
    ) -> Future[list[TrainResult]]:
        """Train `configs` as one population (`train_population`) now."""
        return _settled(
            lambda: train_population(
                configs,
                self.data,
                ready=ready,
                exploit=exploit,
                device=self.device,
                seed=self.seed,
                metric=self.metric,
            )
        )

    def close(self) -> None:
        """Nothing to release."""


def _settled(compute: Callable[[], Any]) -> Future[Any]:
    """A future already holding `compute()`'s result, or its exception: invalid arguments make
    the driver record the trial(s) as failed, as a worker's error would."""
    future: Future[Any] = Future()
    try:
        future.set_result(compute())
    except Exception as exc:
        future.set_exception(exc)
    return future


def split_batch(batch: Future[list[TrainResult]], size: int) -> list[Future[TrainResult]]:
    """One future per member of a batch's future (each fails if the batch does)."""
    members: list[Future[TrainResult]] = [Future() for _ in range(size)]

    def resolve(done: Future[list[TrainResult]]) -> None:
        try:
            results = done.result()
        except Exception as exc:
            for member in members:
                member.set_exception(exc)
            return
        for member, result in zip(members, results, strict=True):
            member.set_result(result)

    batch.add_done_callback(resolve)
    return members


# ---- worker processes ---------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(data: PreparedData, device: str, seed: int, metric: str | None) -> None:
    import torch

    torch.set_num_threads(1)  # processes, not threads, give the speed-up on CPU
    _WORKER.update(data=data, device=device, seed=seed, metric=metric)


def _run_trial(config: TrainConfig, callback: EpochCallback) -> TrainResult:
    return train(
        config,
        _WORKER["data"],
        device=_WORKER["device"],
        seed=_WORKER["seed"],
        metric=_WORKER["metric"],
        callback=callback,
    )


def _run_batch(configs: list[TrainConfig], callbacks: list[EpochCallback]) -> list[TrainResult]:
    return train_many(
        configs,
        _WORKER["data"],
        device=_WORKER["device"],
        seed=_WORKER["seed"],
        metric=_WORKER["metric"],
        callbacks=callbacks,
    )


def _run_population(configs: list[TrainConfig], ready: int, exploit: Exploit) -> list[TrainResult]:
    return train_population(
        configs,
        _WORKER["data"],
        ready=ready,
        exploit=exploit,
        device=_WORKER["device"],
        seed=_WORKER["seed"],
        metric=_WORKER["metric"],
    )


class ProcessExecutor:
    """`workers` local processes; a crashed worker fails its own trial and is replaced.

    Each worker is a one-process pool of its own, so a worker that dies (a segfault, an OOM kill)
    breaks only its pool and the trial in it; trials in the other workers go on. Several workers
    may share one GPU (`device="cuda"`): each trial frees its memory when done.
    """

    def __init__(
        self,
        data: PreparedData,
        workers: int,
        *,
        device: str = "auto",
        seed: int = 0,
        metric: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, but got {workers}")
        self.capacity = workers
        self._initargs = (data, device, seed, metric)
        self._pools = [self._new_pool() for _ in range(workers)]
        self._busy: list[Future[TrainResult] | None] = [None] * workers

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=self._initargs,
        )

    def submit(self, config: TrainConfig, callback: EpochCallback = None) -> Future[TrainResult]:
        return self._submit(_run_trial, config, callback)

    def submit_batch(
        self, configs: list[TrainConfig], callbacks: list[EpochCallback]
    ) -> list[Future[TrainResult]]:
        """The batch goes to one worker, which trains it with `train_many`."""
        return split_batch(self._submit(_run_batch, configs, callbacks), len(configs))

    def submit_population(
        self, configs: list[TrainConfig], ready: int, exploit: Exploit
    ) -> Future[list[TrainResult]]:
        """The population goes to one worker, which trains it with `train_population`."""
        return self._submit(_run_population, configs, ready, exploit)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        slot = next((i for i, f in enumerate(self._busy) if f is None or f.done()), None)
        if slot is None:
            raise RuntimeError(f"all {self.capacity} workers are busy: wait for a trial first")
        try:
            future = self._pools[slot].submit(fn, *args)
        except BrokenProcessPool:  # its worker died in an earlier trial: start a fresh one
            self._pools[slot].shutdown(wait=False, cancel_futures=True)
            self._pools[slot] = self._new_pool()
            future = self._pools[slot].submit(fn, *args)
        self._busy[slot] = future
        return future

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
