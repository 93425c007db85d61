"""`hpo-recommend report`: figures and an HTML page of one study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recommender.cli import app
from recommender.cli._common import JsonOption, KbOption, err, handle_errors, print_json

if TYPE_CHECKING:
    from recommender.reports import ReportFiles


@app.command("report")
@handle_errors
def report_command(
    study_id: Annotated[
        str,
        typer.Argument(help="Study id, a unique prefix of one, or latest (see `hpo-recommend "
                       "kb studies`)."),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the files (default: ./report-<study id>).",
                     show_default=False),
    ] = None,
    x: Annotated[str, typer.Option("--x", help="Hyperparameter on the map's x axis.")] = (
        "learning_rate"
    ),
    y: Annotated[str, typer.Option("--y", help="Hyperparameter on the map's y axis.")] = (
        "batch_size"
    ),
    top: Annotated[int, typer.Option(min=1, help="Learning curves of this many best trials.")] = 5,
    kb: KbOption = None,
    json: JsonOption = False,
) -> None:
    """Write PNG figures and one self-contained HTML page about a study: best value so far,
    learning curves of the best trials, hyperparameter importance, two hyperparameters against
    each other, and every trial."""
    from recommender._kb import open_kb
    from recommender.kb_ids import resolve_study_id
    from recommender.reports import study_report  # matplotlib loads only to draw a report

    store = open_kb(kb)
    study_id = resolve_study_id(store, study_id)
    folder = out if out is not None else Path(f"report-{study_id[:12]}")
    files = study_report(store, study_id, folder, x=x, y=y, top=top)
    show_files(files, json)


def show_files(files: ReportFiles, as_json: bool) -> None:
    """Where a report went: JSON on stdout, or one line per file on stderr."""
    if as_json:
        print_json({"html": str(files.html), "figures": [str(p) for p in files.figures]})
        return
    err.print(f"report written to {files.html}", highlight=False)
    for path in files.figures:
        err.print(f"  {path}", highlight=False)
