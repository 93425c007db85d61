"""`hpo-recommend log`: import runs trained elsewhere into the knowledge base."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from hpo_common.errors import InputError
from recommender.cli import app
from recommender.cli._common import JsonOption, KbOption, err, handle_errors, out, print_json


@app.command("log")
@handle_errors
def log_command(
    runs_file: Annotated[
        Path | None, typer.Argument(help="CSV or JSONL file, one run per row.", show_default=False)
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option("--dataset", help="The data file the runs were trained on.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Target column of --dataset (default: last).")
    ] = None,
    dataset_id: Annotated[
        str | None, typer.Option("--dataset-id", help="Id of a dataset already in the KB.")
    ] = None,
    from_optuna: Annotated[
        str | None,
        typer.Option("--from-optuna", help="Optuna storage URL (e.g. sqlite:///optuna.db) to "
                     "import the complete trials of --study from, instead of a runs file."),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Name of the Optuna study (--from-optuna).")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="What the Optuna objective returned (default: the "
                     "task's default metric; --from-optuna only)."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows, report the others.")
    ] = False,
    fill_defaults: Annotated[
        bool,
        typer.Option("--fill-defaults", help="Store TrainConfig's default for an empty "
                     "hyperparameter cell instead of refusing the row (runs file only)."),
    ] = False,
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Validate and store runs trained elsewhere: a runs file (hyperparameters, metric and value
    per row), or the complete trials of an Optuna study (--from-optuna URL --study NAME).

    Any invalid row stops the import before anything is written, with a list of every bad cell
    (row number, column, value, why), unless --skip-invalid. An empty cell in a hyperparameter
    column is invalid (unless the hyperparameter does not apply to that run, like momentum for
    adam), unless --fill-defaults.
    """
    from recommender.kb_open import open_kb
    from recommender.run_import import import_optuna_study, import_runs

    if runs_file is not None and from_optuna is None and study is None and metric is None:
        report = import_runs(
            open_kb(kb), runs_file, dataset=dataset, target=target, dataset_id=dataset_id,
            skip_invalid=skip_invalid, fill_defaults=fill_defaults,
        )
    elif runs_file is None and from_optuna is not None and study is not None:
        report = import_optuna_study(
            open_kb(kb), from_optuna, study, dataset=dataset, target=target,
            dataset_id=dataset_id, metric=metric, skip_invalid=skip_invalid,
        )
    else:
        raise InputError(
            "give a runs file, or --from-optuna STORAGE_URL --study NAME [--metric NAME] "
            "(not both)"
        )
    if json:
        print_json(asdict(report))
        return
    out.print(
        f"imported {report.imported} of {report.rows} runs for dataset {report.dataset_id}"
        + (f" ({report.already_stored} already stored)" if report.already_stored else "")
    )
    if report.invalid:
        from rich.table import Table

        table = Table(title=f"{len(report.invalid)} problems; those rows were skipped")
        for column in ("row", "column", "value", "why"):
            table.add_column(column)
        for p in report.invalid:
            table.add_row(str(p.row), p.column, repr(p.value), p.reason)
        err.print(table)
