"""Where the knowledge base lives when no `--kb PATH` is given."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "HPO_RECOMMEND_KB"
FILE_NAME = "kb.duckdb"


def _user_data_dir() -> Path:
    """The platform's per-user data folder (XDG on Linux, as `platformdirs` would choose)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "hpo-recommend"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "hpo-recommend"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hpo-recommend"


def default_kb_path() -> Path:
    """`$HPO_RECOMMEND_KB` if set, else `kb.duckdb` in the per-user data folder (created here).

    Example:
        >>> default_kb_path().name  # doctest: +SKIP
        'kb.duckdb'
    """
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    folder = _user_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / FILE_NAME
