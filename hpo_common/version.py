"""The installed library version, stored with every run so results can be traced."""

from __future__ import annotations

from functools import cache


# Read once: every RunRecord asks for it, and the installed version does not change meanwhile.
@cache
def library_version() -> str:
    """Return the installed `hpo-recommend` version, or "0+unknown" from a bare checkout."""
    from importlib import metadata  # ~0.05 s; the command line's --help never needs it

    try:
        return metadata.version("hpo-recommend")
    except metadata.PackageNotFoundError:
        return "0+unknown"
