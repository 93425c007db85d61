"""Fitted LightGBM boosters that predict through LightGBM's C API, without the `lightgbm` package.

`import lightgbm` imports scikit-learn whenever it is installed (`lightgbm.compat`), and with it
scipy: about 1.3 s of a warm `suggest`'s start-up, for a command that only predicts. The fitted
models are kept as LightGBM's own model text (what `Booster.model_to_string` writes and a pickled
`LGBMRegressor` holds), and predicted with the C functions the `lightgbm` package itself calls
(`LGBM_BoosterLoadModelFromString`, `LGBM_BoosterPredictForMat`; LightGBM's `c_api.h`), from the
shared library that package ships: the same trees, the same predictions, to the bit. Fitting
still uses the `lightgbm` package (`Surrogate.fit`).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recommender._cores import map_on_cores

_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
_ROW_MAJOR = 1
_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL
_ALL_ITERATIONS = -1
_ROWS_WORTH_THREADS = 256  # rows from which predicting the boosters side by side pays


@functools.cache
def _library() -> ctypes.CDLL:
    """LightGBM's shared library, found where the `lightgbm` package's `libpath` looks for it
    (beside the package, its `bin/` or `lib/`), without running the package's `__init__`."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("LightGBM is not installed: pip install lightgbm")
    package = Path(next(iter(spec.submodule_search_locations)))
    names = {"win32": "lib_lightgbm.dll", "darwin": "lib_lightgbm.dylib"}
    name = names.get(sys.platform, "lib_lightgbm.so")
    for folder in (package.parent, package / "bin", package / "lib"):
        if (folder / name).is_file():
            library = ctypes.cdll.LoadLibrary(str(folder / name))
            library.LGBM_GetLastError.restype = ctypes.c_char_p
            return library
    raise ImportError(f"LightGBM's {name} is not beside the lightgbm package in {package}")


def _check(code: int) -> None:
    if code != 0:
        message = _library().LGBM_GetLastError().decode("utf-8", "replace")
        raise RuntimeError(f"LightGBM: {message}")


class Boosters:
    """An ensemble's boosters as LightGBM model text; loaded into LightGBM on first `predict`.

    Pickles as the model text alone (the surrogate's disk cache), so loading a cached surrogate
    imports neither LightGBM's Python package nor scikit-learn.
    """

    def __init__(self, models: Sequence[str]) -> None:
        self.models = tuple(models)
        self._handles: list[ctypes.c_void_p] | None = None
        self._free: Any = None  # LightGBM's free function, kept for __del__ at interpreter exit

    def __len__(self) -> int:
        return len(self.models)

    def __getstate__(self) -> dict[str, Any]:
        return {"models": self.models}

    def __setstate__(self, state: dict[str, Any]) -> None:
        Boosters.__init__(self, state["models"])

    def __del__(self) -> None:
        if self._handles and self._free is not None:
            for handle in self._handles:
                self._free(handle)
        self._handles = None

    def _loaded(self) -> list[ctypes.c_void_p]:
        if self._handles is None:
            library = _library()
            self._free = library.LGBM_BoosterFree
            # Parsed side by side (ctypes frees the GIL during the call): parsing the text of
            # 20 members of 400 trees is about a tenth of a warm `suggest`.
            loaded = map_on_cores(_load, self.models)
            self._handles = [handle for handle in loaded if isinstance(handle, ctypes.c_void_p)]
            errors = [error for error in loaded if isinstance(error, str)]
            if errors:
                self.__del__()  # frees the boosters that did load
                raise RuntimeError(f"LightGBM: {errors[0]}")
        return self._handles

    def predict(self, X: np.ndarray, members: int | None = None) -> np.ndarray:
        """Predictions of the first `members` boosters (None: all), shape (members, rows).

        Each booster predicts on one thread; for many rows (a `suggest`'s candidates) the
        boosters run side by side, one per core, while the few rows a search step predicts stay
        on the calling thread, where starting threads would cost more than it saves."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        handles = self._loaded()[:members]
        out = np.empty((len(handles), len(X)), dtype=np.float64)
        if len(X) == 0:
            return out

        def predict_into(pair: tuple[ctypes.c_void_p, np.ndarray]) -> None:
            _predict(*pair, X)

        pairs = list(zip(handles, out, strict=True))
        if len(X) >= _ROWS_WORTH_THREADS:
            map_on_cores(predict_into, pairs)
        else:
            for pair in pairs:
                predict_into(pair)
        return out


def _load(text: str) -> ctypes.c_void_p | str:
    """A booster's handle parsed from its model text, or LightGBM's error message (read on the
    thread that failed: LightGBM keeps its last error per thread)."""
    handle, iterations = ctypes.c_void_p(), ctypes.c_int(0)
    library = _library()
    code = library.LGBM_BoosterLoadModelFromString(
        text.encode(), ctypes.byref(iterations), ctypes.byref(handle)
    )
    return handle if code == 0 else library.LGBM_GetLastError().decode("utf-8", "replace")


def _predict(handle: ctypes.c_void_p, out: np.ndarray, X: np.ndarray) -> None:
    """One booster's predictions for the rows of `X` (C-contiguous float64) written to `out`."""
    written = ctypes.c_int64(0)
    _check(
        _library().LGBM_BoosterPredictForMat(
            handle,
            X.ctypes.data_as(ctypes.c_void_p),
            ctypes.c_int(_FLOAT64),
            ctypes.c_int32(X.shape[0]),
            ctypes.c_int32(X.shape[1]),
            ctypes.c_int(_ROW_MAJOR),
            ctypes.c_int(_PREDICT_NORMAL),
            ctypes.c_int(0),
            ctypes.c_int(_ALL_ITERATIONS),
            b"num_threads=1",
            ctypes.byref(written),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
    )
    if written.value != len(X):
        raise RuntimeError(f"LightGBM wrote {written.value} predictions for {len(X)} rows")
