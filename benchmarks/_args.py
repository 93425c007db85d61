"""Argument types the benchmarks share: a bad value is a usage error (exit 2) naming it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from hpo_common.errors import ConfigError
from knowledge_base import read_manifest
from training.device import resolve_device


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse `type` accepting whole numbers >= `minimum`."""

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number >= {minimum}, but got {text!r}"
            )
        return int(text)

    return parse


def kb_export(text: str) -> Path:
    """An argparse `type` accepting a folder that holds a KB export (`hpo-recommend kb export`)."""
    if read_manifest(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} holds no KB export (manifest.json, as `hpo-recommend kb export` writes)"
        )
    return Path(text)


def available_device(text: str) -> str:
    """An argparse `type` accepting a device this machine has (`training.device.resolve_device`),
    so `--device cuda` without a GPU is a usage error, not a traceback mid-benchmark."""
    try:
        resolve_device(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
