"""Cache files written so that concurrent processes never see, or collide on, half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` through a temporary file of this process's own, then rename it.

    A fixed temporary name would be shared by two processes writing the same cache entry (two
    `tune` commands on one KB): the second rename then finds the first one's file gone. The
    rename is atomic, so readers see the old file or the new one, never a torn one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
