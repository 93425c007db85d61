"""`hpo-recommend kb ...`: look into, copy and combine knowledge bases."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recommender.cli import app
from recommender.cli._common import (
    JsonOption,
    KbOption,
    err,
    fmt,
    handle_errors,
    out,
    print_json,
)

if TYPE_CHECKING:  # pandas, DuckDB and rich tables load when a command runs, not for --help
    import pandas as pd

    from knowledge_base import KnowledgeBase

kb_app = typer.Typer(
    help="Inspect, export, import and merge the knowledge base of past runs.",
    no_args_is_help=True,
)
app.add_typer(kb_app, name="kb")

_RUN_COLUMNS = (
    "id", "dataset_id", "study_id", "status", "objective", "value", "optimizer", "learning_rate",
    "batch_size", "n_layers", "width", "source", "created",
)
_STUDY_COLUMNS = (
    "id", "dataset_name", "strategy", "status", "n_runs", "objective", "best_value", "started",
)
_DATASET_COLUMNS = ("id", "name", "task", "n_rows", "n_features", "n_classes", "n_runs")


def _open(path: Path | None, *, create: bool = False) -> KnowledgeBase:
    """The knowledge base named by `--kb` (which must exist unless `create`), else the default."""
    from recommender._kb import open_kb

    return open_kb(path, create=create or path is None)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict(orient="records")  # type: ignore[return-value]


def _count(n: int, one: str, many: str) -> str:
    """'1 study', '2 studies': a table title that reads right for every count."""
    return f"{n} {one if n == 1 else many}"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return fmt(value)
    if isinstance(value, datetime):  # pandas Timestamps too
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return text[:12] if len(text) == 32 or len(text) == 64 else text  # shorten ids


def _show(
    rows: list[dict[str, Any]], columns: tuple[str, ...], title: str, *, as_json: bool
) -> None:
    """A listing as JSON records, or as a titled table of `columns`."""
    if as_json:
        print_json([
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
            for row in rows
        ])
        return
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row[column]) for column in columns))
    out.print(table)


def _print_counts(counts: dict[str, int], title: str, *, as_json: bool) -> None:
    """Rows per table, as JSON or as a titled table."""
    if as_json:
        print_json(counts)
        return
    from rich.table import Table

    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    out.print(table)


@kb_app.command("stats")
@handle_errors
def stats(kb: KbOption = None, json: JsonOption = False) -> None:
    """Counts of datasets, studies, runs (by status, source, objective) and the file size."""
    result = _open(kb).stats()
    if json:
        print_json(result)
        return
    from rich.table import Table

    table = Table(title=f"knowledge base {result['path']}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        table.add_row(key, str(value))
    out.print(table)


@kb_app.command("datasets")
@handle_errors
def datasets(kb: KbOption = None, json: JsonOption = False) -> None:
    """Every dataset in the knowledge base with its number of runs."""
    rows = _records(_open(kb).datasets())
    _show(rows, _DATASET_COLUMNS, _count(len(rows), "dataset", "datasets"), as_json=json)


@kb_app.command("studies")
@handle_errors
def studies(
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Dataset id (or a unique prefix).")
    ] = None,
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Every study, oldest first: id, dataset, strategy, status, trials, best value, started.
    `hpo-recommend report ID` draws one (an id prefix or `latest` will do)."""
    from recommender.kb_ids import resolve_dataset_id

    store = _open(kb)
    dataset_id = None if dataset is None else resolve_dataset_id(store, dataset)
    rows = _records(store.studies(dataset_id))
    _show(rows, _STUDY_COLUMNS, _count(len(rows), "study", "studies"), as_json=json)


@kb_app.command("runs")
@handle_errors
def runs(
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Dataset id (or a unique prefix).")
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study id, a unique prefix, or latest.")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="ok, pruned, diverged or failed (repeat).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="tune, log, import or seed.")
    ] = None,
    objective: Annotated[str | None, typer.Option("--objective", help="Metric name.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many runs.")] = 20,
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Stored runs, oldest first, filtered by dataset, study, status, source or objective."""
    from recommender.kb_ids import resolve_dataset_id, resolve_study_id

    store = _open(kb)
    rows = store.run_rows(
        dataset_id=None if dataset is None else resolve_dataset_id(store, dataset),
        study_id=None if study is None else resolve_study_id(store, study),
        status=status or None, source=source, objective=objective, limit=limit,
    )
    title = f"{_count(len(rows), 'run', 'runs')} (--limit {limit})"
    _show(rows, _RUN_COLUMNS, title, as_json=json)


@kb_app.command("export")
@handle_errors
def export(
    directory: Annotated[Path, typer.Argument(help="Folder for the Parquet files.")],
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Write every table to DIRECTORY/<table>.parquet with a manifest."""
    counts = _open(kb).export_parquet(directory)
    _print_counts(counts, f"exported to {directory}", as_json=json)


@kb_app.command("import")
@handle_errors
def import_(
    directory: Annotated[Path, typer.Argument(help="Folder written by `kb export`.")],
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Add the rows of an export; rows already stored are skipped."""
    counts = _open(kb, create=True).import_parquet(directory)
    _print_counts(counts, f"new rows from {directory}", as_json=json)


@kb_app.command("merge")
@handle_errors
def merge(
    other: Annotated[Path, typer.Argument(help="Another knowledge base file (only read).")],
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Add every row of another knowledge base file; rows already stored are skipped."""
    counts = _open(kb, create=True).merge(other)
    _print_counts(counts, f"new rows from {other}", as_json=json)


@kb_app.command("migrate")
@handle_errors
def migrate(kb: KbOption = None, json: JsonOption = False) -> None:
    """Bring a knowledge base written by an older version to the current schema (reading every
    row first, so a damaged file is reported instead of passed as migrated)."""
    store = _open(kb)
    store.verify()
    result = {"path": str(store.path), "from_version": store.migrated_from,
              "to_version": store.schema_version}
    if json:
        print_json(result)
    elif store.migrated_from == store.schema_version:
        err.print(f"{store.path} is already at schema version {store.schema_version}")
    else:
        err.print(
            f"migrated {store.path} from schema version {store.migrated_from} "
            f"to {store.schema_version}"
        )


@kb_app.command("check")
@handle_errors
def check(kb: KbOption = None, json: JsonOption = False) -> None:
    """Read every row of the knowledge base: exit 0 if all is readable, 1 naming the damage."""
    store = _open(kb)
    counts = store.verify()
    _print_counts(counts, f"{store.path}: every row readable", as_json=json)


@kb_app.command("salvage")
@handle_errors
def salvage(
    damaged: Annotated[Path, typer.Argument(help="The damaged knowledge base file (only read).")],
    new: Annotated[Path, typer.Argument(help="The knowledge base file to copy readable rows to.")],
    json: JsonOption = False,
) -> None:
    """Copy every readable row of a damaged knowledge base into NEW, and count what was lost."""
    from rich.table import Table

    from recommender._kb import open_kb

    result = open_kb(new, with_seed=False).salvage(damaged)
    if json:
        print_json(result)
        return
    table = Table(title=f"salvaged {damaged} into {new}")
    for column in ("table", "copied", "lost"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, counts in result.items():
        table.add_row(name, str(counts["copied"]), str(counts["lost"]))
    out.print(table)
    if any(counts["lost"] for counts in result.values()):
        err.print(f"some rows of {damaged} were unreadable; a `kb export` copy may hold them")


@kb_app.command("report")
@handle_errors
def report(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the PNG files and kb_report.html.")
    ] = Path("kb-report"),
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Figures of the whole knowledge base: datasets on a meta-feature map, and the best
    configurations by task."""
    from recommender.cli.report import show_files
    from recommender.reports import kb_report  # matplotlib loads only to draw a report

    show_files(kb_report(_open(kb), out), json)
