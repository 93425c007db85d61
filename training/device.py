"""Pick the device a run uses: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from hpo_common.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str = "auto") -> torch.device:
    """The torch device for `device` ("auto", "cpu", "cuda", "cuda:N" or "mps").

    "auto" prefers the fastest available backend. Naming an unavailable one is a `ConfigError`
    rather than a silent fallback, so a benchmark never reports CPU figures as GPU ones.
    """
    name = str(device).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise ConfigError(
            f"device must be one of {', '.join(DEVICES)} (or cuda:N), but got {device!r}"
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} was requested but CUDA is not available here; use cpu or auto"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"device {device!r} was requested but MPS is not available here; use cpu or auto"
        )
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"device must be one of {', '.join(DEVICES)} (or cuda:N), but got {device!r}"
        ) from None


# Below this many floating-point operations per optimisation step, extra CPU threads cost more in
# synchronisation than they give.
SMALL_STEP_FLOPS = 2e7


def _cpu_busy() -> bool:
    """Whether other work already keeps the cores busy (1-minute load average near the core count).

    Threads that wait for a busy core make a step many times slower: with two threads on a busy
    2-core machine a small MLP ran 100x slower (10.4 s instead of 0.08 s).
    """
    try:
        return os.getloadavg()[0] >= (os.cpu_count() or 1) - 0.5
    except OSError:  # no load average on this platform
        return False


@contextmanager
def cpu_threads_for(device: torch.device, step_flops: float) -> Iterator[None]:
    """Run tiny steps, or any step on a busy CPU, on one thread; restore torch's setting after."""
    if device.type != "cpu" or (step_flops >= SMALL_STEP_FLOPS and not _cpu_busy()):
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
