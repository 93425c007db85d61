"""Argument types the benchmarks share: a bad value is a usage error (exit 2) naming it."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse `type` accepting whole numbers >= `minimum`."""

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number >= {minimum}, but got {text!r}"
            )
        return int(text)

    return parse
