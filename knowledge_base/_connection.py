"""Short-lived DuckDB connections with a bounded, jittered retry on the file lock.

DuckDB lets one process at a time open a database file for writing, and holds that lock for the
connection's life. So no connection outlives one call of the store (tune trains models between
calls), and a process that finds the file locked waits and tries again, with exponential backoff
and jitter, for at most `lock_timeout` seconds. The retry happens before anything is written:
a transaction either commits whole or never started, so a retried write cannot store a run twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from hpo_common.errors import KnowledgeBaseError, SchemaVersionError

MEMORY = ":memory:"
_FIRST_DELAY_S = 0.005
_MAX_DELAY_S = 0.25


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> Any:
    """The single value a query returns (fetching every row, as DuckDB wants before more work)."""
    return con.execute(query, params or []).fetchall()[0][0]


class Connector:
    """Opens connections to one knowledge base: a file, or one in-memory database.

    An in-memory database lives only as long as a connection to it, so for `:memory:` one root
    connection is kept and each call gets a cursor on it (a separate connection to the same data).
    """

    def __init__(self, path: Path | None, *, lock_timeout: float) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._root = duckdb.connect(MEMORY) if path is None else None

    @property
    def label(self) -> str:
        return MEMORY if self.path is None else str(self.path)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self._root is not None:
            return self._root.cursor()
        deadline = time.monotonic() + self.lock_timeout
        delay = _FIRST_DELAY_S
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                text = str(exc)
                if "not a valid DuckDB database file" in text:
                    raise SchemaVersionError(
                        f"{self.label} is not a knowledge base (not a DuckDB database file); "
                        "pass the path of a knowledge base, or a new file name, with --kb"
                    ) from None
                if not _is_lock_error(exc):
                    raise KnowledgeBaseError(
                        f"cannot open knowledge base {self.label}: {text}"
                    ) from None
                if time.monotonic() >= deadline:
                    raise KnowledgeBaseError(
                        f"knowledge base {self.label} stayed locked by another process for "
                        f"{self.lock_timeout:g} s; try again when it has finished: {text}"
                    ) from None
            # Full jitter keeps several waiting writers from retrying in lock-step.
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _MAX_DELAY_S)

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one call, closed (and the file lock released) on exit."""
        con = self._open(read_only)
        try:
            yield con
        except duckdb.Error as exc:
            raise KnowledgeBaseError(f"knowledge base {self.label}: {exc}") from exc
        finally:
            con.close()

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
