"""`RayExecutor`: trials as Ray tasks on a local or multi-node Ray cluster (extra `ray`).

Same contract as the local executors (`recommender.executors.Executor`): `submit(config,
callback)` gives a `concurrent.futures.Future[TrainResult]`, `submit_batch(configs, callbacks)`
trains a batch as one task with `train_many` (one future per member; a batch takes one slot of
`capacity`), `capacity` says how many trials or batches run at once, `close()` releases what it
started. The prepared data is put in Ray's object store once
(`ray.put`) and every task gets it by reference; on one node its arrays are read without copying.
The driver keeps the search and is the only process that writes to the knowledge base. A task
whose worker dies (`WorkerCrashedError`) or raises (`RayTaskError`) makes its future raise, which
the driver records as a `failed` trial; the executor stays usable (tasks are never retried: a
trial that killed its worker would most likely kill the next one too).

Example:
    >>> options = RayOptions(address="auto", gpus_per_trial=0.25)
    >>> executor = RayExecutor(data, options)  # doctest: +SKIP
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from hpo_common.errors import InputError
from recommender.executors._local import EpochCallback, split_batch
from training import PreparedData, TrainConfig, TrainResult, train, train_many


@dataclass(frozen=True)
class RayOptions:
    """Where and with what each trial runs.

    Attributes:
        address: a running cluster ("auto", or "HOST:PORT" of `ray start --head`); None starts a
            private local Ray instance for this study (and stops it afterwards).
        cpus_per_trial: CPUs Ray reserves for each trial (torch uses as many threads).
        gpus_per_trial: GPUs (or a fraction: 0.25 lets four trials share one GPU); 0 trains on CPU.
    """

    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0

    def __post_init__(self) -> None:
        if not self.cpus_per_trial > 0:
            raise InputError(f"cpus_per_trial must be > 0, but got {self.cpus_per_trial}")
        if not self.gpus_per_trial >= 0:
            raise InputError(f"gpus_per_trial must be >= 0, but got {self.gpus_per_trial}")


def _run_trial(
    data: PreparedData,
    config: TrainConfig,
    callback: EpochCallback,
    device: str,
    seed: int,
    metric: str | None,
    threads: int,
) -> TrainResult:
    """One trial inside a Ray worker (`data` arrives resolved from the object store)."""
    import torch

    torch.set_num_threads(threads)
    return train(config, data, device=device, seed=seed, metric=metric, callback=callback)


def _run_batch(
    data: PreparedData,
    configs: list[TrainConfig],
    callbacks: list[EpochCallback],
    device: str,
    seed: int,
    metric: str | None,
    threads: int,
) -> list[TrainResult]:
    """One batch inside a Ray worker, trained as stacked models (`train_many`)."""
    import torch

    torch.set_num_threads(threads)
    return train_many(configs, data, device=device, seed=seed, metric=metric, callbacks=callbacks)


class RayExecutor:
    """Run each trial as a Ray task with `options`' resources.

    Args:
        data: the prepared data, put in the object store once.
        options: cluster address and resources per trial.
        workers: at most this many trials at once; 1 (the CLI's default) means as many as the
            cluster's CPUs and GPUs fit at `options`' resources per trial.
        device: "auto" trains on the GPU Ray assigns when `gpus_per_trial > 0`, else on CPU.
    """

    def __init__(
        self,
        data: PreparedData,
        options: RayOptions | None = None,
        *,
        workers: int = 1,
        device: str = "auto",
        seed: int = 0,
        metric: str | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise InputError("--executor ray needs Ray: pip install 'hpo-recommend[ray]'") from None
        if workers < 1:
            raise InputError(f"workers must be >= 1, but got {workers}")
        self.options = options or RayOptions()
        self._ray = ray
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            try:
                ray.init(
                    address=self.options.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except ConnectionError as exc:
                raise InputError(
                    f"cannot reach a Ray cluster at {self.options.address!r}: {exc}; start one "
                    "with `ray start --head` or leave out --address for a local one"
                ) from None
        if device == "auto" and self.options.gpus_per_trial == 0:
            device = "cpu"  # no GPU reserved for the trial: do not take one behind Ray's back
        self._args = (device, seed, metric, max(1, int(self.options.cpus_per_trial)))
        self._data = ray.put(data)
        resources = {
            "num_cpus": self.options.cpus_per_trial,
            "num_gpus": self.options.gpus_per_trial,
            "max_retries": 0,
        }
        self._task = ray.remote(_run_trial).options(**resources)
        self._batch_task = ray.remote(_run_batch).options(**resources)
        self.capacity = workers if workers > 1 else self._cluster_capacity()

    def _cluster_capacity(self) -> int:
        """Trials the cluster's resources fit at once (at least 1)."""
        resources = self._ray.cluster_resources()
        fits = int(resources.get("CPU", 1) // self.options.cpus_per_trial)
        if self.options.gpus_per_trial > 0:
            fits = min(fits, int(resources.get("GPU", 0) // self.options.gpus_per_trial))
        return max(1, fits)

    def submit(self, config: TrainConfig, callback: EpochCallback = None) -> Future[TrainResult]:
        ref = self._task.remote(self._data, config, callback, *self._args)
        return ref.future()

    def submit_batch(
        self, configs: list[TrainConfig], callbacks: list[EpochCallback]
    ) -> list[Future[TrainResult]]:
        """The batch is one Ray task (the resources of one trial) that trains it with
        `train_many`; one future per configuration, all failing if the task does."""
        ref = self._batch_task.remote(self._data, configs, callbacks, *self._args)
        return split_batch(ref.future(), len(configs))

    def close(self) -> None:
        """Stop the Ray instance this executor started (never a cluster it joined)."""
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
