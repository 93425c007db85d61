"""`hpo-recommend doctor`: sanity checks on a dataset and a configuration before a long tune."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recommender.cli import app
from recommender.cli._common import JsonOption, err, handle_errors, out, print_json

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


@app.command("doctor")
@handle_errors
def doctor_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file of the dataset.")],
    target: Annotated[str | None, typer.Option(help="Target column (default: the last).")] = None,
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="JSON file of hyperparameters (default: TrainConfig's defaults).",
                     show_default=False),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "cpu",
    seed: Annotated[int, typer.Option(help="Seed of the split, the model and the checks.")] = 0,
    json_output: JsonOption = False,
) -> None:
    """Check DATA and a configuration before tuning: data, init, gradients, overfit-one-batch,
    LR range test, loss curve. Exits 1 when a check fails."""
    from recommender.cli.train import config_from  # imports torch: only when the command runs
    from recommender.doctor import doctor

    report = doctor(data, target=target, config=config_from(config, []), task=task,
                    device=device, seed=seed)
    if json_output:
        print_json(report.to_dict())
    else:
        from rich.table import Table as RichTable

        for note in report.notes:
            err.print(f"note: {note}", highlight=False)
        table = RichTable(title=f"doctor: {report.dataset} ({report.task}, {report.rows} rows)")
        for column in ("check", "status", "why", "what to do"):
            table.add_column(column, overflow="fold")
        for check in report.checks:
            table.add_row(check.name, f"[{STYLE[check.status]}]{check.status}[/]", check.reason,
                          check.advice)
        out.print(table)
    if report.failed:
        raise typer.Exit(1)
