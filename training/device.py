"""Pick the device a run uses: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

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
# synchronisation than they give; on a busy machine they can make a small model 100x slower.
SMALL_STEP_FLOPS = 2e8


@contextmanager
def cpu_threads_for(device: torch.device, step_flops: float) -> Iterator[None]:
    """Run small CPU workloads on one thread, restoring torch's setting afterwards."""
    if device.type != "cpu" or step_flops >= SMALL_STEP_FLOPS:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
