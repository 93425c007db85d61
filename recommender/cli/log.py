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
        list[Path] | None,
        typer.Option("--dataset", metavar="PATH", help="The data file the runs were trained "
                     "on (with --from-mlflow --dataset-tag: repeat it, one per dataset)."),
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
    from_mlflow: Annotated[
        str | None,
        typer.Option("--from-mlflow", help="MLflow tracking URI (sqlite:///mlflow.db, "
                     "http://host:5000, ...) to import the finished runs of --experiment from."),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment name (--from-mlflow).")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="What the Optuna objective returned, or the MLflow metric "
                     "that is the objective (default: the task's default metric)."),
    ] = None,
    direction: Annotated[
        str | None,
        typer.Option("--direction", help="minimize or maximize, for an MLflow --metric that is "
                     "not a standard metric (--from-mlflow)."),
    ] = None,
    name_map: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="THEIRS=OURS",
                     help="their_name=our_name for an MLflow param (learning_rate, "
                     "batch_size, ...) or metric (accuracy, log_loss, ...); repeatable."),
    ] = None,
    dataset_tag: Annotated[
        str | None,
        typer.Option("--dataset-tag", help="MLflow tag or param naming each run's dataset: a "
                     "--dataset file (path, name or stem) or a KB dataset id."),
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
    per row), the complete trials of an Optuna study (--from-optuna URL --study NAME), or the
    finished runs of an MLflow experiment (--from-mlflow URI --experiment NAME).

    Any invalid row stops the import before anything is written, with a list of every bad cell
    (row number, column, value, why), unless --skip-invalid. An empty cell in a hyperparameter
    column is invalid (unless the hyperparameter does not apply to that run, like momentum for
    adam), unless --fill-defaults.
    """
    from recommender._kb import open_kb
    from recommender.ingest import import_runs
    from recommender.integrations._optuna_import import import_optuna_study

    mlflow_options = (experiment, direction, name_map, dataset_tag)
    files = dataset or []
    one_file = files[0] if files else None
    if from_mlflow is None and (any(o for o in mlflow_options) or len(files) > 1):
        raise InputError("--experiment, --direction, --map, --dataset-tag and several --dataset "
                         "files go with --from-mlflow")
    if runs_file is not None and from_optuna is None and from_mlflow is None and (
        study is None and metric is None
    ):
        report = import_runs(
            open_kb(kb), runs_file, dataset=one_file, target=target, dataset_id=dataset_id,
            skip_invalid=skip_invalid, fill_defaults=fill_defaults,
        )
    elif runs_file is None and from_optuna is not None and study is not None and (
        from_mlflow is None
    ):
        report = import_optuna_study(
            open_kb(kb), from_optuna, study, dataset=one_file, target=target,
            dataset_id=dataset_id, metric=metric, skip_invalid=skip_invalid,
        )
    elif runs_file is None and from_mlflow is not None and experiment is not None and (
        from_optuna is None and study is None
    ):
        from recommender.integrations._mlflow_import import import_mlflow_runs
        from recommender.integrations._mlflow_names import parse_name_map

        report = import_mlflow_runs(
            open_kb(kb), from_mlflow, experiment, dataset=files, target=target,
            dataset_id=dataset_id, metric=metric, direction=direction,
            name_map=parse_name_map(name_map or []), dataset_tag=dataset_tag,
            skip_invalid=skip_invalid,
        )
    else:
        raise InputError(
            "give one of: a runs file; --from-optuna STORAGE_URL --study NAME [--metric NAME]; "
            "--from-mlflow TRACKING_URI --experiment NAME [--metric NAME]"
        )
    if json:
        print_json(asdict(report))
        return
    datasets = (f"{len(report.dataset_ids)} datasets" if len(report.dataset_ids) > 1
                else f"dataset {report.dataset_id}")
    out.print(
        f"imported {report.imported} of {report.rows} runs for {datasets}"
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
