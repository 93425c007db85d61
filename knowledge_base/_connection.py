"""Short-lived DuckDB connections, serialised across processes by a lock file beside the KB.

DuckDB lets one process at a time open a database file for writing, but its own file lock does
not protect short connections from several processes: `duckdb.connect` reads the file's headers
(which say where the current catalog and data blocks are) *before* it takes its `fcntl` lock
(seen with strace on DuckDB 2.0: `pread(fd, 12288, 0)` on a read-only descriptor, then
`F_SETLK` on a second one, and the headers are not read again). If another process finishes a
checkpoint in that window, the opener works from stale headers: it reads blocks that were freed
or cut off ("IO Error: Could not read enough bytes"), or its next checkpoint writes a catalog
without the other process's rows (a committed run silently lost). So every connection to a file
first takes an exclusive `flock` on `<kb>.lock` (the `filelock` package) and holds it until
DuckDB has closed the file: header read, transaction, checkpoint and close happen as one
critical section, and the kernel drops the lock of a killed process. DuckDB's own lock is still
retried with backoff, for processes that do not take ours (the DuckDB shell, older versions).

No connection outlives one call of the store (tune trains models between calls), and waiting
happens before anything is written: a transaction either commits whole or never started, so a
retried write cannot store a run twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from filelock import FileLock, Timeout

from hpo_common.errors import DamagedKnowledgeBaseError, KnowledgeBaseError, SchemaVersionError

MEMORY = ":memory:"
_FIRST_DELAY_S = 0.005
_MAX_DELAY_S = 0.25
#: Substrings of DuckDB errors that mean the file's bytes are wrong, not that it is busy.
_DAMAGE_SIGNS = ("could not read enough bytes", "corrupt database file", "checksum", "torn")


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def damage_hint(label: str) -> str:
    """What to do about a damaged knowledge base (one wording for every place that says it)."""
    return (
        f"knowledge base {label} is damaged; nothing was read from it or written to it. "
        f"Copy what is still readable with `hpo-recommend kb salvage {label} NEW.duckdb`, or "
        "restore a copy made by `hpo-recommend kb export` (`hpo-recommend kb import FOLDER "
        "--kb NEW.duckdb`), then point --kb at the new file"
    )


def as_store_error(exc: duckdb.Error, label: str) -> KnowledgeBaseError:
    """The project's error for a DuckDB error: damaged files are named as such."""
    text = str(exc)
    if any(sign in text.lower() for sign in _DAMAGE_SIGNS):
        return DamagedKnowledgeBaseError(f"{damage_hint(label)} ({text})")
    return KnowledgeBaseError(f"knowledge base {label}: {text}")


def lock_path(path: Path) -> Path:
    """The lock file that serialises connections to the knowledge base `path`."""
    return path.with_name(path.name + ".lock")


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> Any:
    """The single value a query returns (fetching every row, as DuckDB wants before more work)."""
    return con.execute(query, params or []).fetchall()[0][0]


class Connector:
    """Opens connections to one knowledge base: a file, or one in-memory database.

    An in-memory database lives only as long as a connection to it, so for `:memory:` one root
    connection is kept and each call gets a cursor on it (a separate connection to the same data).
    The lock is reentrant within a thread (`is_singleton`: every `Connector` of one file in a
    process shares it), so a call may open a second connection to the same file while it holds
    one; other threads and processes wait.
    """

    def __init__(self, path: Path | None, *, lock_timeout: float) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._root = duckdb.connect(MEMORY) if path is None else None
        self._shared: duckdb.DuckDBPyConnection | None = None  # see `shared`
        self._lock = None
        if path is not None:
            self._lock = FileLock(lock_path(path), is_singleton=True, preserve_lock_file=True)

    @property
    def label(self) -> str:
        return MEMORY if self.path is None else str(self.path)

    def _busy(self, detail: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(
            f"knowledge base {self.label} stayed locked by another process for "
            f"{self.lock_timeout:g} s; try again when it has finished ({detail})"
        )

    @contextmanager
    def _locked(self) -> Iterator[float]:
        """Hold the lock file (files only); yield the deadline left for DuckDB's own lock."""
        deadline = time.monotonic() + self.lock_timeout
        if self._lock is None:
            yield deadline
            return
        try:
            self._lock.acquire(timeout=self.lock_timeout)
        except Timeout:
            raise self._busy(f"lock file {self._lock.lock_file}") from None
        except OSError as exc:
            raise KnowledgeBaseError(
                f"cannot create the lock file {self._lock.lock_file} beside knowledge base "
                f"{self.label}: {exc.strerror}; its folder must be writable"
            ) from None
        try:
            yield deadline
        finally:
            self._lock.release()

    def _open(self, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
        delay = _FIRST_DELAY_S
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                text = str(exc)
                if "not a valid DuckDB database file" in text:
                    raise SchemaVersionError(
                        f"{self.label} is not a knowledge base (not a DuckDB database file); "
                        "pass the path of a knowledge base, or a new file name, with --kb"
                    ) from None
                if not _is_lock_error(exc):
                    if any(sign in text.lower() for sign in _DAMAGE_SIGNS):
                        raise as_store_error(exc, self.label) from None
                    raise KnowledgeBaseError(
                        f"cannot open knowledge base {self.label}: {text}"
                    ) from None
                if time.monotonic() >= deadline:
                    raise self._busy(text) from None
            # Full jitter keeps several waiting writers from retrying in lock-step.
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _MAX_DELAY_S)

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one call, closed on exit (and only then the lock file released)."""
        with self._locked() as deadline:
            root = self._root if self._root is not None else self._shared
            con = root.cursor() if root is not None else self._open(read_only, deadline)
            try:
                yield con
            except duckdb.Error as exc:
                raise as_store_error(exc, self.label) from exc
            finally:
                con.close()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Every connection opened inside the block is a cursor on one connection, held (with
        the lock file) until the block ends: calls that belong together (the reads of one
        snapshot) open and close the file once instead of once each."""
        if self._root is not None or self._shared is not None:
            yield
            return
        with self.connect() as con:
            self._shared = con
            try:
                yield
            finally:
                self._shared = None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, rolled back on any error."""
        with self.connect() as con:
            con.begin()
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()
