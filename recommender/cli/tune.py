"""`hpo-recommend tune`: warm-started search with real training; every trial goes into the KB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hpo_common.errors import InputError
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
from recommender.cli._progress import StepProgress
from recommender.search import PRUNERS, STRATEGIES
from recommender.settings import TuneSettings
from training.config import in_effect

if TYPE_CHECKING:  # the library (and torch) load when the command runs, not for --help
    from recommender.executors import RayOptions
    from recommender.tune import TrialEvent, TuneResult

SHOWN = ("optimizer", "learning_rate", "batch_size", "n_layers", "width")


@app.command("tune")
@handle_errors
def tune_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file of the dataset.")],
    target: Annotated[str | None, typer.Option(help="Target column (default: the last).")] = None,
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression.")] = None,
    budget: Annotated[
        int | None, typer.Option(min=1, help="Trials in total.")
    ] = TuneSettings.budget,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="Seconds after which no new trial starts.")
    ] = TuneSettings.timeout,
    strategy: Annotated[
        str, typer.Option(help=f"One of {', '.join(STRATEGIES)}.")
    ] = TuneSettings.strategy,
    warm_start: Annotated[
        int, typer.Option(min=0, help="Suggestions tried first.")
    ] = TuneSettings.warm_start,
    grid_limit: Annotated[
        int, typer.Option(min=1, help="Largest grid (cells) --strategy grid accepts.")
    ] = TuneSettings.grid_limit,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Trials trained at once (processes; with --executor ray: Ray "
                     "tasks, default as many as the cluster fits)."),
    ] = TuneSettings.workers,
    executor: Annotated[
        str, typer.Option(help="local (this process or --workers processes) or ray.")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster: auto or HOST:PORT of `ray start --head` (default: a "
                     "private local Ray instance).", show_default=False),
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option(help="Ray: CPUs per trial.")] = 1.0,
    gpus_per_trial: Annotated[
        float, typer.Option(help="Ray: GPUs per trial (0.25: four trials share a GPU).")
    ] = 0.0,
    batch: Annotated[
        int,
        typer.Option(min=1, help="Configurations trained together as one stacked model per "
                     "worker: the searcher's pick plus neighbours in its training group "
                     "(1: one trial at a time)."),
    ] = TuneSettings.batch,
    pruner: Annotated[
        str, typer.Option(help=f"{', '.join(PRUNERS)}.")
    ] = TuneSettings.pruner or "none",
    metric: Annotated[str | None, typer.Option(help="Objective (default log_loss / r2).")] = None,
    max_epochs: Annotated[int | None, typer.Option(min=1, help="Cap on epochs per trial.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = TuneSettings.device,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the split, the search and training.")
    ] = TuneSettings.seed,
    space: Annotated[Path | None, typer.Option(help="Search-space file (.toml/.json/.yaml).")] = (
        None
    ),
    resume: Annotated[
        str | None,
        typer.Option(help="Continue this study: an id, a unique prefix of one, or latest."),
    ] = None,
    refit: Annotated[
        bool, typer.Option(help="Retrain the best configuration on train+validation.")
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the --refit checkpoint.")
    ] = None,
    mlflow: Annotated[
        str | None,
        typer.Option("--mlflow", metavar="TRACKING_URI",
                     help="Also log each trial as an MLflow run at TRACKING_URI "
                     "(sqlite:///mlflow.db, http://host:5000, ...; 'default': MLflow's own, "
                     "$MLFLOW_TRACKING_URI).", show_default=False),
    ] = None,
    mlflow_experiment: Annotated[
        str | None,
        typer.Option("--mlflow-experiment", help="MLflow experiment (default hpo-recommend).",
                     show_default=False),
    ] = None,
    kb: KbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Search for the best training configuration of DATA, warm-started from the knowledge base."""
    from recommender.api import Recommender
    from recommender.kb_ids import resolve_study_id

    ray = _ray_options(executor, address, cpus_per_trial, gpus_per_trial)
    recommender = Recommender(kb=kb, space=space)
    if resume is not None:
        resume = resolve_study_id(recommender.kb, resume)
    with _TrialProgress(budget) as progress:
        result = recommender.tune(
            data, target=target, task=task, budget=budget, timeout=timeout, strategy=strategy,
            workers=workers, seed=seed, metric=metric, warm_start=warm_start,
            pruner=None if pruner == "none" else pruner, max_epochs=max_epochs, device=device,
            resume=resume, refit=refit, out=out_dir, progress=progress, ray=ray, batch=batch,
            mlflow=mlflow, mlflow_experiment=mlflow_experiment, grid_limit=grid_limit,
        )
    if json_output:
        print_json(result.to_dict())
    else:
        _print_summary(result)
    if result.status == "interrupted":
        err.print(f"interrupted: resume with --resume {result.study_id}")
        raise typer.Exit(130)


def _ray_options(
    executor: str, address: str | None, cpus_per_trial: float, gpus_per_trial: float
) -> RayOptions | None:
    if executor not in ("local", "ray"):
        raise InputError(f"--executor must be local or ray, but got {executor!r}")
    if executor == "ray":
        from recommender.executors import RayOptions

        return RayOptions(address, cpus_per_trial, gpus_per_trial)
    if address is not None or cpus_per_trial != 1.0 or gpus_per_trial != 0.0:
        raise InputError("--address, --cpus-per-trial and --gpus-per-trial go with --executor ray")
    return None


class _TrialProgress(StepProgress):
    """Trial n/N, best so far, ETA and the last configuration: a bar in a terminal, else one
    line per trial."""

    def __init__(self, budget: int | None) -> None:
        super().__init__("tune", budget, "trial")

    def __call__(self, event: TrialEvent) -> None:
        best = "—" if event.best_value is None else fmt(event.best_value)
        last = f"last {event.status} {fmt(event.value)}: {_brief(event.config)}"
        self.update(event.done, f"best {best}", last, force=True)


def _print_summary(result: TuneResult) -> None:
    from rich.table import Table as RichTable

    title = f"tune {result.dataset_name}: study {result.study_id} ({result.status})"
    table = RichTable(title=title)
    table.add_column("")
    table.add_column("")
    best = "—" if result.best_value is None else f"{result.objective} {fmt(result.best_value, 5)}"
    table.add_row("best score", best)
    best_config = result.best_config or {}
    for name in in_effect(best_config, result.task):  # the rest never changed this training
        table.add_row(f"  {name}", fmt(best_config[name]))
    table.add_row("trials", ", ".join(f"{n} {s}" for s, n in result.counts.items()))
    table.add_row("knowledge base", result.kb_path or "(in memory)")
    table.add_row("study id", result.study_id)
    if result.checkpoint:
        table.add_row("checkpoint", result.checkpoint)
    out.print(table)


def _brief(config: dict[str, Any]) -> str:
    return " ".join(f"{k}={fmt(config[k])}" for k in SHOWN if k in config)
