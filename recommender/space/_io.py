"""Reading a space file (.toml, .json, .yaml/.yml) and the shipped default space."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

from hpo_common.errors import SpaceError
from recommender.space._space import SearchSpace

SUFFIXES = (".toml", ".json", ".yaml", ".yml")


def _read_mapping(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SpaceError(
            f"{path}: unsupported space file extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpaceError(f"{path}: space file does not exist") from None
    except OSError as exc:
        raise SpaceError(f"{path}: cannot read space file: {exc.strerror}") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"{path}: not valid JSON: {exc}") from None
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ModuleNotFoundError:
                raise SpaceError(
                    f"{path}: reading TOML needs Python 3.11+ or `pip install tomli`"
                ) from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpaceError(f"{path}: not valid TOML: {exc}") from None
    try:
        import yaml
    except ModuleNotFoundError:
        raise SpaceError(
            f"{path}: reading YAML needs PyYAML (`pip install pyyaml`); or use .toml/.json"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(f"{path}: not valid YAML: {exc}") from None


def load_space(path: str | Path) -> SearchSpace:
    """Read a space file (.toml, .json, .yaml/.yml); errors name the file and the parameter."""
    path = Path(path)
    return SearchSpace.from_dict(_read_mapping(path), source=str(path))


@functools.lru_cache(maxsize=1)
def default_space() -> SearchSpace:
    """The shipped default space (`recommender/data/default_space.toml`)."""
    ref = resources.files("recommender") / "data" / "default_space.toml"
    with resources.as_file(ref) as path:
        return load_space(path)
