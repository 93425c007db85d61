"""The installed library version, stored with every run so results can be traced."""

from __future__ import annotations

from importlib import metadata


def library_version() -> str:
    """Return the installed `hpo-recommend` version, or "0+unknown" from a bare checkout."""
    try:
        return metadata.version("hpo-recommend")
    except metadata.PackageNotFoundError:
        return "0+unknown"
