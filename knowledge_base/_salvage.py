"""Read what is still readable from a damaged knowledge base file.

DuckDB checks a checksum on every block it reads, so damage shows as an error on the query
that touches the block. A table is read whole first; if that fails, it is read again in slices
of `SLICE_ROWS` rows (by `rowid`), each on a fresh read-only connection (an IO error may leave
a connection unusable), and the slices that fail are counted as lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from hpo_common.errors import DamagedKnowledgeBaseError, KnowledgeBaseError
from knowledge_base import _schema as sql
from knowledge_base._connection import Connector, scalar

SLICE_ROWS = 2048
_SLICE = "SELECT * FROM {table} WHERE rowid >= ? AND rowid < ?"
_MAX_ROWID = "SELECT coalesce(max(rowid), -1) FROM {table}"


@dataclass
class Salvaged:
    """The rows read from a damaged file, and how many rows (or slices) could not be."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    lost_rows: dict[str, int] = field(default_factory=dict)


def _read_whole(reader: Connector, table: str) -> pa.Table | None:
    try:
        with reader.connect(read_only=True) as con:
            return con.sql(sql.SELECT_ALL[table]).to_arrow_table()
    except KnowledgeBaseError:
        return None


def _read_slices(reader: Connector, table: str) -> tuple[pa.Table | None, int]:
    """The readable slices of a table and the number of rows in slices that were not."""
    try:
        with reader.connect(read_only=True) as con:
            last = int(scalar(con, _MAX_ROWID.format(table=table)))
    except KnowledgeBaseError:
        return None, 0  # not even the table's extent is readable; its size is unknown
    parts, lost = [], 0
    for start in range(0, last + 1, SLICE_ROWS):
        stop = min(start + SLICE_ROWS, last + 1)
        try:
            with reader.connect(read_only=True) as con:
                parts.append(
                    con.sql(_SLICE.format(table=table), params=[start, stop]).to_arrow_table()
                )
        except KnowledgeBaseError:
            lost += stop - start
    return (pa.concat_tables(parts) if parts else None), lost


def _ids(tables: dict[str, pa.Table], table: str) -> pa.Array:
    return tables[table]["id"].combine_chunks() if table in tables else pa.array([], pa.string())


def _keep(
    tables: dict[str, pa.Table], table: str, column: str,
    mask_of: Callable[[pa.ChunkedArray], pa.ChunkedArray],
) -> None:
    """Keep the rows of `table` whose `column` passes `mask_of` (an absent table stays absent)."""
    if table in tables:
        tables[table] = tables[table].filter(mask_of(tables[table][column]))


def _drop_orphans(tables: dict[str, pa.Table]) -> None:
    """Drop rows whose dataset, study or run was lost, so the copy passes the store's checks."""
    datasets, studies = _ids(tables, "datasets"), _ids(tables, "studies")
    for table in ("meta_features", "studies", "runs"):
        _keep(tables, table, "dataset_id", lambda c: pc.is_in(c, value_set=datasets))
    _keep(tables, "runs", "study_id",
          lambda c: pc.or_kleene(pc.is_null(c), pc.is_in(c, value_set=studies)))
    runs = _ids(tables, "runs")
    _keep(tables, "curves", "run_id", lambda c: pc.is_in(c, value_set=runs))


def read_salvageable(reader: Connector) -> Salvaged:
    """Every readable row of every data table; raises if the file cannot be opened at all."""
    try:
        with reader.connect(read_only=True) as con:
            scalar(con, sql.CURRENT_VERSION)
    except KnowledgeBaseError as exc:
        raise DamagedKnowledgeBaseError(
            f"nothing in {reader.label} can be read (its catalog is damaged or cut off: {exc}); "
            "restore a copy made by `hpo-recommend kb export` with `hpo-recommend kb import`"
        ) from None
    result = Salvaged()
    for table in sql.DATA_TABLES:
        whole = _read_whole(reader, table)
        if whole is not None:
            result.tables[table] = whole
            continue
        part, lost = _read_slices(reader, table)
        if part is not None:
            result.tables[table] = part
        result.lost_rows[table] = lost
    _drop_orphans(result.tables)
    return result
