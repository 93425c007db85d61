"""Bring a knowledge base file to the latest schema, or refuse one this version cannot read."""

from __future__ import annotations

import duckdb

from hpo_common.errors import KnowledgeBaseError, SchemaVersionError
from knowledge_base._connection import scalar
from knowledge_base._records import utc_now
from knowledge_base._schema import (
    CURRENT_VERSION,
    LATEST_VERSION,
    LIST_TABLES,
    MIGRATIONS,
    RECORD_VERSION,
)


def schema_version(con: duckdb.DuckDBPyConnection, label: str) -> int:
    """The file's schema version: 0 for an empty database; raises if it is not a knowledge base.

    A knowledge base answers one query (its version); only a file without a `schema_version`
    table costs the listing of its tables.
    """
    try:
        version = scalar(con, CURRENT_VERSION)
    except duckdb.CatalogException:
        version = None
    if version is not None:
        return _checked(version, label)
    tables = {row[0] for row in con.execute(LIST_TABLES).fetchall()}
    if tables and "schema_version" not in tables:
        raise SchemaVersionError(
            f"{label} is a DuckDB database but not an hpo-recommend knowledge base (it has tables "
            f"{', '.join(sorted(tables))} and no schema_version table); pass another --kb path"
        )
    return 0  # an empty database, or an empty schema_version table


def _checked(version: int, label: str) -> int:
    """`version`, unless it is newer than this version of hpo-recommend reads."""
    if version > LATEST_VERSION:
        raise SchemaVersionError(
            f"{label} was written by a newer hpo-recommend (schema version {version}; this version "
            f"reads up to {LATEST_VERSION}): upgrade hpo-recommend (pip install -U hpo-recommend)"
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, label: str, *, upto: int = LATEST_VERSION) -> int:
    """Apply the migrations the file lacks, each in a transaction with its record.

    Returns the version the file had before. A failed migration leaves the file at the version
    before it, never half-changed.
    """
    before = schema_version(con, label)
    for migration in MIGRATIONS:
        if not before < migration.version <= upto:
            continue
        con.begin()
        try:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(RECORD_VERSION, [migration.version, migration.description, utc_now()])
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise KnowledgeBaseError(
                f"migrating {label} to schema version {migration.version} failed, the file is "
                f"unchanged at version {migration.version - 1}: {exc}"
            ) from exc
    return before
