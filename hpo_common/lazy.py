"""Lazy public names for a package, so importing it costs only what is used.

`import recommender` or `from training import load_table` must not load torch or scikit-learn:
the command line imports packages before it parses arguments, and `--help` should be instant.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package whose public names are imported from their submodules on first access."""

    _lazy_exports: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:
        module = self._lazy_exports.get(name)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{self.__name__}.{module}"), name)
        super().__setattr__(name, value)  # later look-ups are plain attribute reads
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._lazy_exports))

    def __setattr__(self, name: str, value: Any) -> None:
        # The import system sets each loaded submodule as an attribute of its package; where a
        # submodule is named after the function it defines (`training.train`), the function
        # stays the public name, as it was when packages imported everything eagerly.
        if isinstance(value, types.ModuleType) and name in self._lazy_exports:
            return
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: Mapping[str, str]) -> None:
    """Make `package`'s public names (name -> submodule defining it) load on first access.

    Call at the end of the package's `__init__.py`, with `__all__ = sorted(exports)`.
    """
    module = sys.modules[package]
    module.__dict__["_lazy_exports"] = dict(exports)
    module.__class__ = _LazyPackage
