"""`hpo-recommend log`: import runs trained elsewhere into the knowledge base."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recommender.cli import app
from recommender.cli._common import JsonOption, KbOption, err, handle_errors, out, print_json
from recommender.kb_open import open_kb
from recommender.run_import import import_runs


@app.command("log")
@handle_errors
def log_command(
    runs_file: Annotated[Path, typer.Argument(help="CSV or JSONL file, one run per row.")],
    dataset: Annotated[
        Path | None, typer.Option("--dataset", help="The data file the runs were trained on.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Target column of --dataset (default: last).")
    ] = None,
    dataset_id: Annotated[
        str | None, typer.Option("--dataset-id", help="Id of a dataset already in the KB.")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows, report the others.")
    ] = False,
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Validate and store runs trained elsewhere (hyperparameters, metric and value per row).

    Any invalid row stops the import before anything is written, with a list of every bad cell
    (row number, column, value, why), unless --skip-invalid.
    """
    report = import_runs(
        open_kb(kb), runs_file, dataset=dataset, target=target, dataset_id=dataset_id,
        skip_invalid=skip_invalid,
    )
    if json:
        print_json(asdict(report))
        return
    out.print(
        f"imported {report.imported} of {report.rows} runs for dataset {report.dataset_id}"
        + (f" ({report.already_stored} already stored)" if report.already_stored else "")
    )
    if report.invalid:
        table = Table(title=f"{len(report.invalid)} problems; those rows were skipped")
        for column in ("row", "column", "value", "why"):
            table.add_column(column)
        for p in report.invalid:
            table.add_row(str(p.row), p.column, repr(p.value), p.reason)
        err.print(table)
