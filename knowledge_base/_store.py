"""`KnowledgeBase`: the one object through which the rest of hpo-recommend reads and writes runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:  # pyarrow and pandas load when a call needs them: `kb stats` needs neither
    import pandas as pd
    import pyarrow as pa

from hpo_common.errors import InputError, NotFoundError, SchemaVersionError
from hpo_common.version import library_version
from knowledge_base import _schema as sql
from knowledge_base._connection import MEMORY, Connector, scalar
from knowledge_base._migrations import migrate, schema_version
from knowledge_base._paths import default_kb_path
from knowledge_base._records import (
    CurvePoint,
    DatasetRecord,
    RunRecord,
    StudyRecord,
    _check_choice,
    new_run_id,
    utc_now,
)

MANIFEST = "manifest.json"
_FORMAT = "hpo-recommend-kb"

Filter = str | Sequence[str] | None


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest `KnowledgeBase.export_parquet` wrote into `folder` (format, schema version,
    rows per table), or None when `folder` holds no export."""
    path = Path(folder).expanduser() / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def _as_list(value: Filter) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Run a query and return a DataFrame via Arrow (several times faster than row conversion)."""
    return con.sql(query, params=list(params)).to_arrow_table().to_pandas()


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any]) -> list[dict]:
    """Rows as dicts, times as UTC datetimes, without pyarrow or pandas (a listing needs neither).

    DuckDB gives a zoned timestamp in the session's zone and needs `pytz` for it (before DuckDB
    2), so zoned columns are read as UTC wall times and given their zone here.
    """
    relation = con.sql(query, params=list(params))  # binds only: the column types, no rows
    zoned = [
        name for name, kind in zip(relation.columns, relation.types, strict=True)
        if str(kind) == "TIMESTAMP WITH TIME ZONE"
    ]
    if zoned:
        as_utc = ", ".join(f"timezone('UTC', \"{name}\") AS \"{name}\"" for name in zoned)
        query = f"SELECT * REPLACE ({as_utc}) FROM ({query})"
    cursor = con.execute(query, list(params))
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for name in zoned:
            if row[name] is not None:
                row[name] = row[name].replace(tzinfo=UTC)
    return rows


def _row(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any]) -> dict | None:
    rows = _rows(con, query, params)
    return rows[0] if rows else None


def _runs_query(
    dataset_id: Filter,
    study_id: Filter,
    status: Filter,
    source: Filter,
    objective: Filter,
    *,
    columns: Sequence[str] | None,
    limit: int | None,
) -> tuple[str, list[Any]]:
    """The query (and its parameters) of `KnowledgeBase.runs`, its arguments checked."""
    chosen = list(columns) if columns is not None else list(sql.RUN_COLUMNS)
    unknown = [c for c in chosen if c not in sql.RUN_COLUMNS]
    if unknown:
        raise InputError(
            f"unknown run column(s) {', '.join(unknown)}; valid: {', '.join(sql.RUN_COLUMNS)}"
        )
    if limit is not None and limit < 0:
        raise InputError(f"limit must be >= 0, but got {limit}")
    filters = {
        "dataset_id": dataset_id, "study_id": study_id, "status": status,
        "source": source, "objective": objective,
    }
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    for name, value in filters.items():
        values = _as_list(value)
        allowed = {"status": sql.STATUSES, "source": sql.SOURCES}.get(name, ())
        bad = [v for v in values or () if allowed and v not in allowed]
        if bad:
            raise InputError(
                f"{name} must be one of {', '.join(allowed)}, but got {', '.join(bad)}"
            )
        if values is not None:
            single, many = sql.RUN_FILTERS[name]
            where.append(single if len(values) == 1 else many)
            params.append(values[0] if len(values) == 1 else values)
    query = (
        f"SELECT {', '.join(chosen)} FROM runs WHERE {' AND '.join(where)} ORDER BY created, id"
    )
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return query, params


def _insert_datasets(con: duckdb.DuckDBPyConnection, records: Sequence[DatasetRecord]) -> int:
    """Insert datasets whose fingerprint is new; return how many were."""
    from knowledge_base._frames import datasets_table  # pyarrow: only writes need it

    con.register("incoming", datasets_table(records))
    return int(scalar(con, sql.INSERT_INCOMING["datasets"]))


def _missing(con: duckdb.DuckDBPyConnection, query: str, what: str, label: str) -> None:
    """Raise `NotFoundError` naming the ids a referential check found (the caller rolls back)."""
    ids = [row[0] for row in con.execute(query).fetchall()]
    if ids:
        raise NotFoundError(
            f"{what} {', '.join(ids)} not in knowledge base {label}; add it first "
            "(KnowledgeBase.add_dataset / start_study)"
        )


class KnowledgeBase:
    """The DuckDB store of datasets, meta-features, studies, runs and learning curves.

    Contract:
        - `KnowledgeBase(path)` opens (creating it, unless `create=False`) a knowledge base file,
          migrating one written by an older version; a newer or foreign file raises
          `SchemaVersionError`. `":memory:"` gives a private in-memory store for tests.
        - No connection is held between calls: each call opens one, works, and closes it, so
          several processes can share one file. Each call holds the lock file `<file>.lock`
          from before DuckDB opens the file until after it has closed it (see `_connection`),
          and waits for it for up to `lock_timeout` seconds.
        - A damaged file raises `DamagedKnowledgeBaseError` on the call that reads the damage;
          `verify` reads every row, `salvage` copies what is readable into this store.
        - Every write is one transaction: it is stored whole or not at all.
        - Writes are idempotent by id: datasets by fingerprint, runs by run id, curve points by
          (run id, epoch), studies by id. Writing a stored id again changes nothing (meta-features
          are the exception: `set_meta_features` overwrites the values it is given).
        - A run's dataset (and study, if any) must be stored before the run.
        - Queries return pandas DataFrames (one row per record, the columns of the table) or
          frozen records (`get_dataset`, `get_study`, `get_run`); `run_rows` gives `runs` as
          dicts, for a listing that should not load pandas. Times are timezone-aware.

    Example:
        >>> kb = KnowledgeBase(":memory:")
        >>> _ = kb.add_dataset(DatasetRecord("fp1", "iris", "multiclass", 150, 4, 3))
        >>> kb.log_run(RunRecord("fp1", {"learning_rate": 0.01}, "log_loss", "minimize", 0.2))
        True
        >>> len(kb.runs(dataset_id="fp1"))
        1
    """

    def __init__(
        self, path: str | Path | None = None, *, create: bool = True, lock_timeout: float = 60.0
    ) -> None:
        if str(path) == MEMORY:
            self._db = Connector(None, lock_timeout=lock_timeout)
        else:
            file = Path(path).expanduser() if path is not None else default_kb_path()
            if file.is_dir():
                raise InputError(f"knowledge base path {file} is a folder; give a file path")
            if not file.exists():
                if not create:
                    raise NotFoundError(f"no knowledge base at {file}")
                if not file.parent.is_dir():
                    raise InputError(
                        f"cannot create knowledge base {file}: no folder {file.parent}"
                    )
            self._db = Connector(file, lock_timeout=lock_timeout)
        with self._db.connect() as con:
            #: The schema version the file had when opened (0: new file); latest after migrating.
            self.migrated_from = migrate(con, self._db.label)
        self.schema_version = sql.LATEST_VERSION

    def reading(self) -> AbstractContextManager[None]:
        """A block whose calls share one connection (opened and closed once; other processes
        wait for the block to end): for several reads that make one snapshot."""
        return self._db.shared()

    @property
    def path(self) -> Path | None:
        """The file, or None for an in-memory knowledge base."""
        return self._db.path

    def __repr__(self) -> str:
        return f"KnowledgeBase({self._db.label!r})"

    # ---- datasets and meta-features ---------------------------------------------------------
    def add_dataset(self, record: DatasetRecord) -> DatasetRecord:
        """Store a dataset unless its fingerprint is known; return the stored record."""
        with self._db.transaction() as con:
            _insert_datasets(con, [record])
            return DatasetRecord(**self._dataset_row(con, record.id))

    def add_datasets(self, records: Sequence[DatasetRecord]) -> int:
        """Store many datasets in one transaction; return how many fingerprints were new."""
        if not records:
            return 0
        with self._db.transaction() as con:
            return _insert_datasets(con, records)

    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        """The stored dataset; `NotFoundError` if its id is unknown."""
        with self._db.connect() as con:
            return DatasetRecord(**self._dataset_row(con, dataset_id))

    def _dataset_row(self, con: duckdb.DuckDBPyConnection, dataset_id: str) -> dict:
        row = _row(con, sql.GET_DATASET, [dataset_id])
        if row is None:
            raise NotFoundError(f"dataset {dataset_id!r} is not in knowledge base {self._db.label}")
        return row

    def datasets(self) -> pd.DataFrame:
        """Every dataset with its number of runs (`n_runs`), oldest first."""
        with self._db.connect() as con:
            return _frame(con, sql.LIST_DATASETS)

    def set_meta_features(self, dataset_id: str, values: Mapping[str, float]) -> None:
        """Store (or overwrite) meta-features of a stored dataset."""
        import pyarrow as pa

        incoming = pa.table(
            {
                "dataset_id": pa.array([dataset_id] * len(values), pa.string()),
                "name": pa.array(list(values), pa.string()),
                "value": pa.array([float(v) for v in values.values()], pa.float64()),
            }
        )
        with self._db.transaction() as con:
            self._dataset_row(con, dataset_id)
            con.register("incoming", incoming)
            con.execute(sql.UPSERT_META_FEATURES)

    def meta_features(self, dataset_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Meta-features as a wide frame: one row per dataset (index `dataset_id`), one column
        per meta-feature name (sorted), NaN where a dataset lacks one."""
        query, params = sql.META_FEATURES, []
        if dataset_ids is not None:
            query, params = f"{query} WHERE dataset_id = ANY(?)", [list(dataset_ids)]
        with self._db.connect() as con:
            long = _frame(con, query, params)
        wide = long.pivot(index="dataset_id", columns="name", values="value")
        wide.columns.name = None
        return wide.sort_index(axis=0).sort_index(axis=1).astype("float64")

    # ---- studies --------------------------------------------------------------------------------
    def start_study(
        self,
        dataset_id: str,
        strategy: str,
        *,
        budget: int | None = None,
        objective: str | None = None,
        direction: str | None = None,
        space: Mapping[str, Any] | None = None,
        study_id: str | None = None,
    ) -> StudyRecord:
        """Record a study as running on a stored dataset and return it."""
        record = StudyRecord(
            id=study_id or new_run_id(),
            dataset_id=dataset_id,
            strategy=strategy,
            budget=budget,
            objective=objective,
            direction=direction,
            space=space,
        )
        space_json = None if space is None else json.dumps(space, sort_keys=True, default=str)
        with self._db.transaction() as con:
            self._dataset_row(con, dataset_id)
            con.execute(
                sql.INSERT_STUDY,
                [record.id, dataset_id, strategy, budget, objective, direction, space_json,
                 record.started],
            )
        return record

    def finish_study(self, study_id: str, status: str = "finished") -> StudyRecord:
        """Mark a study finished (or failed/interrupted) now; return the stored record."""
        _check_choice("study status", status, sql.STUDY_STATUSES[1:])
        with self._db.transaction() as con:
            con.execute(sql.FINISH_STUDY, [utc_now(), status, study_id])
            return self._study(con, study_id)

    def get_study(self, study_id: str) -> StudyRecord:
        """The stored study; `NotFoundError` if its id is unknown."""
        with self._db.connect() as con:
            return self._study(con, study_id)

    def _study(self, con: duckdb.DuckDBPyConnection, study_id: str) -> StudyRecord:
        row = _row(con, sql.GET_STUDY, [study_id])
        if row is None:
            raise NotFoundError(f"study {study_id!r} is not in knowledge base {self._db.label}")
        row["space"] = None if row["space"] is None else json.loads(row["space"])
        return StudyRecord(**row)

    def studies(self, dataset_id: str | None = None) -> pd.DataFrame:
        """Every study (of one dataset if given), oldest first, with `dataset_name`, `n_runs` and
        `best_value` (the best `ok` run's value in the study's direction)."""
        with self._db.connect() as con:
            frame = _frame(con, sql.LIST_STUDIES)
        return frame if dataset_id is None else frame[frame["dataset_id"] == dataset_id]

    # ---- runs -----------------------------------------------------------------------------------
    def log_run(self, record: RunRecord) -> bool:
        """Store one run with its curve; False if a run with its id was already stored."""
        return self.log_runs([record]) == 1

    def log_runs(self, records: Sequence[RunRecord]) -> int:
        """Store runs and their curves in one transaction; return how many were new.

        Runs whose id is already stored are skipped, so retrying or re-importing a batch stores
        every run exactly once.
        """
        if not records:
            return 0
        from knowledge_base._frames import curves_table, runs_table

        runs, curves = runs_table(records), curves_table(records)
        with self._db.transaction() as con:
            con.register("incoming", runs)
            _missing(con, sql.INCOMING_WITHOUT_DATASET, "dataset(s)", self._db.label)
            _missing(con, sql.INCOMING_WITHOUT_STUDY, "study(ies)", self._db.label)
            added = scalar(con, sql.INSERT_INCOMING["runs"])
            con.unregister("incoming")
            if curves.num_rows:
                con.register("incoming", curves)
                con.execute(sql.INSERT_INCOMING["curves"])
        return int(added)

    def runs(
        self,
        dataset_id: Filter = None,
        study_id: Filter = None,
        status: Filter = None,
        source: Filter = None,
        objective: Filter = None,
        *,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Runs matching every given filter (each one value or several), oldest first.

        `columns` picks a subset of the `runs` columns (e.g. the hyperparameters, `dataset_id`,
        `value` and `status` for the surrogate): loading fewer columns is faster.
        """
        query, params = _runs_query(
            dataset_id, study_id, status, source, objective, columns=columns, limit=limit
        )
        with self._db.connect() as con:
            return _frame(con, query, params)

    def run_rows(
        self,
        dataset_id: Filter = None,
        study_id: Filter = None,
        status: Filter = None,
        source: Filter = None,
        objective: Filter = None,
        *,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """`runs` as a list of dicts: what a listing prints, without loading pandas."""
        query, params = _runs_query(
            dataset_id, study_id, status, source, objective, columns=columns, limit=limit
        )
        with self._db.connect() as con:
            return _rows(con, query, params)

    def get_run(self, run_id: str) -> RunRecord:
        """One stored run with its curve, as a record; `NotFoundError` if unknown."""
        with self._db.connect() as con:
            row = _row(con, sql.GET_RUN, [run_id])
            if row is None:
                raise NotFoundError(f"run {run_id!r} is not in knowledge base {self._db.label}")
            points = _rows(con, sql.CURVES_OF, [[run_id]])
        curve = tuple(CurvePoint(**{k: p[k] for k in sql.CURVE_COLUMNS}) for p in points)
        return RunRecord.from_row(row, curve)

    def curves(self, run_ids: Iterable[str]) -> pd.DataFrame:
        """Learning curves of the given runs: one row per (run_id, epoch), sorted."""
        with self._db.connect() as con:
            return _frame(con, sql.CURVES_OF, [list(run_ids)])

    def best_runs(
        self, objective: str | None = None, *, k: int = 1, dataset_ids: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """The `k` best `ok` runs per (dataset, objective), best first by each run's direction."""
        if k < 1:
            raise InputError(f"k must be >= 1, but got {k}")
        where, params = ["TRUE"], []
        if objective is not None:
            where.append(sql.RUN_FILTERS["objective"][1])
            params.append([objective])
        if dataset_ids is not None:
            where.append(sql.RUN_FILTERS["dataset_id"][1])
            params.append(list(dataset_ids))
        with self._db.connect() as con:
            return _frame(con, sql.BEST_RUNS.format(filters=" AND ".join(where)), [*params, k])

    # ---- whole-store operations ------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts of every table, runs by status, source and objective, and the file size."""
        with self._db.connect() as con:
            counts = {t: scalar(con, sql.COUNT_ROWS[t]) for t in sql.DATA_TABLES}
            by = {key: dict(con.execute(q).fetchall()) for key, q in sql.COUNT_BY.items()}
        size = None
        if self.path is not None:
            size = sum(p.stat().st_size for p in (self.path, self.path.with_name(
                self.path.name + ".wal")) if p.exists())
        return {
            "path": self._db.label,
            "schema_version": self.schema_version,
            **counts,
            "runs_by_status": by["status"],
            "runs_by_source": by["source"],
            "runs_by_objective": by["objective"],
            "size_bytes": size,
        }

    def export_parquet(self, directory: str | Path) -> dict[str, int]:
        """Write every table to `<directory>/<table>.parquet` plus a manifest; return row counts."""
        import pyarrow.parquet as parquet

        folder = Path(directory).expanduser()
        if folder.exists() and not folder.is_dir():
            raise InputError(f"export target {folder} is a file; give a folder")
        folder.mkdir(parents=True, exist_ok=True)
        counts = {}
        with self._db.connect() as con:
            for table in sql.DATA_TABLES:
                arrow = con.sql(sql.SELECT_ALL[table]).to_arrow_table()
                parquet.write_table(arrow, folder / f"{table}.parquet")
                counts[table] = arrow.num_rows
        manifest = {
            "format": _FORMAT,
            "schema_version": self.schema_version,
            "library_version": library_version(),
            "exported": utc_now().isoformat(),
            "rows": counts,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return counts

    def import_parquet(self, directory: str | Path) -> dict[str, int]:
        """Add the rows of an export (or the seed knowledge base); return the new rows per table.

        Rows whose ids are already stored are skipped, so importing twice changes nothing.
        """
        import pyarrow.parquet as parquet

        folder = Path(directory).expanduser()
        if not folder.is_dir():
            raise InputError(f"import source {folder} is not a folder of Parquet files")
        manifest = read_manifest(folder)
        if manifest is not None:
            version = manifest.get("schema_version", 0)
            if version > self.schema_version:
                raise SchemaVersionError(
                    f"{folder} was exported by a newer hpo-recommend (schema version {version}; "
                    f"this version reads up to {self.schema_version}): upgrade hpo-recommend"
                )
        files = {t: folder / f"{t}.parquet" for t in sql.DATA_TABLES}
        tables = {t: parquet.read_table(f) for t, f in files.items() if f.exists()}
        if not tables:
            raise InputError(
                f"{folder} holds none of {', '.join(f.name for f in files.values())}"
            )
        return self._add_tables(tables)

    def merge(self, other: str | Path) -> dict[str, int]:
        """Add every row of another knowledge base file; return the new rows per table.

        The other file is only read (never migrated); merging twice changes nothing.
        """
        source = Path(other).expanduser()
        if not source.is_file():
            raise NotFoundError(f"no knowledge base file at {source}")
        if self.path is not None and source.resolve() == self.path.resolve():
            raise InputError(f"cannot merge knowledge base {source} into itself")
        reader = Connector(source, lock_timeout=self._db.lock_timeout)
        with reader.connect(read_only=True) as con:
            schema_version(con, str(source))
            tables = {t: con.sql(sql.SELECT_ALL[t]).to_arrow_table() for t in sql.DATA_TABLES}
        return self._add_tables(tables)

    def salvage(self, damaged: str | Path) -> dict[str, dict[str, int]]:
        """Copy every readable row of a damaged knowledge base file into this one.

        Returns, per table, the rows `copied` (new here) and the rows `lost` (in unreadable
        parts of the file; rows left without their dataset, study or run are dropped too).
        Raises `DamagedKnowledgeBaseError` if nothing of the file can be read.
        """
        source = Path(damaged).expanduser()
        if not source.is_file():
            raise NotFoundError(f"no knowledge base file at {source}")
        if self.path is not None and source.resolve() == self.path.resolve():
            raise InputError(f"salvage into a new file, not into {source} itself")
        from knowledge_base._salvage import read_salvageable  # loads pyarrow.compute

        found = read_salvageable(Connector(source, lock_timeout=self._db.lock_timeout))
        added = self._add_tables(found.tables)
        return {
            table: {"copied": added.get(table, 0), "lost": found.lost_rows.get(table, 0)}
            for table in sql.DATA_TABLES
        }

    def verify(self) -> dict[str, int]:
        """Read every row of every table (DuckDB checks each block's checksum on the way);
        return the rows per table, or raise `DamagedKnowledgeBaseError` naming the damage."""
        with self._db.connect() as con:
            return {
                table: con.sql(sql.SELECT_ALL[table]).to_arrow_table().num_rows
                for table in sql.DATA_TABLES
            }

    def _add_tables(self, tables: Mapping[str, pa.Table]) -> dict[str, int]:
        """Insert whole tables in one transaction, skipping stored ids, checking references."""
        added = {}
        with self._db.transaction() as con:
            for table in sql.DATA_TABLES:
                if table not in tables:
                    continue
                con.register("incoming", tables[table])
                added[table] = int(scalar(con, sql.INSERT_INCOMING[table]))
                con.unregister("incoming")
            _missing(con, sql.RUNS_WITHOUT_DATASET, "dataset(s)", self._db.label)
            _missing(con, sql.STUDY_WITHOUT_DATASET, "dataset(s)", self._db.label)
        return added
