"""`hpo-recommend train` (one run, or k-fold CV) and `hpo-recommend lr-find` (LR range test)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import training
from hpo_common.errors import ConfigError
from recommender.cli import app
from recommender.cli._common import (
    JsonOption,
    err,
    fmt,
    handle_errors,
    out,
    print_json,
    print_notes,
)
from recommender.cli._progress import StepProgress
from training import CVResult, TrainConfig, TrainResult

if TYPE_CHECKING:
    from rich.table import Table as RichTable

DataArgument = Annotated[
    Path, typer.Argument(help="CSV or Parquet file of the dataset.", show_default=False)
]
TargetOption = Annotated[
    str | None,
    typer.Option("--target", help="Target column (default: the last column).", show_default=False),
]
TaskOption = Annotated[
    str | None,
    typer.Option(
        "--task", help="binary, multiclass or regression (default: inferred).", show_default=False
    ),
]
ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="JSON file of hyperparameters (TrainConfig fields).", show_default=False
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override one hyperparameter, key=value; repeatable.", show_default=False
    ),
]
DeviceOption = Annotated[
    str, typer.Option("--device", help="auto (cuda, mps, cpu), cpu, cuda or mps.")
]
SeedOption = Annotated[
    int, typer.Option("--seed", min=0, help="Seed of the split, initialisation and shuffling.")
]


@app.command("train")
@handle_errors
def train_command(
    data: DataArgument,
    target: TargetOption = None,
    task: TaskOption = None,
    config: ConfigFileOption = None,
    set_: SetOption = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="Objective (default: log_loss, or r2 for regression).",
            show_default=False,
        ),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            min=2,
            help="k-fold cross-validation instead of one holdout split.",
            show_default=False,
        ),
    ] = None,
    device: DeviceOption = "auto",
    seed: SeedOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Train one MLP on DATA and report its validation metrics (or their mean over --cv folds)."""
    cfg = config_from(config, set_ or [])
    table = training.load_table(data, target=target, task=task)
    print_notes(table.notes)
    objective = metric or training.default_metric(table.task)
    with _EpochProgress(cfg.max_epochs, cv or 1, objective) as progress:
        if cv:
            splits = training.cv_splits(table, folds=cv, seed=seed)
            result: TrainResult | CVResult = training.train_cv(
                cfg, splits, device=device, seed=seed, metric=metric, callback=progress
            )
        else:
            prepared = training.prepare(table, seed=seed)
            result = training.train(
                cfg, prepared, device=device, seed=seed, metric=metric, callback=progress
            )
    dataset = {
        "name": table.name,
        "fingerprint": table.fingerprint,
        "task": table.task,
        "rows": table.n_rows,
        "features": table.n_features,
        "target": table.target,
    }
    if as_json:
        print_json({"dataset": dataset, **result.to_dict()})
    elif isinstance(result, CVResult):
        out.print(_cv_table(result, table.name))
    else:
        out.print(_result_table(result, table.name))


@app.command("lr-find")
@handle_errors
def lr_find_command(
    data: DataArgument,
    target: TargetOption = None,
    task: TaskOption = None,
    config: ConfigFileOption = None,
    set_: SetOption = None,
    min_lr: Annotated[
        float, typer.Option("--min-lr", help="First learning rate of the sweep.")
    ] = 1e-7,
    max_lr: Annotated[
        float, typer.Option("--max-lr", help="Last learning rate of the sweep.")
    ] = 10.0,
    steps: Annotated[int, typer.Option("--steps", help="Mini-batches in the sweep.")] = 100,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Save loss vs learning rate to this image file.", show_default=False
        ),
    ] = None,
    device: DeviceOption = "auto",
    seed: SeedOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Run the learning-rate range test on DATA and print the suggested learning rate."""
    cfg = config_from(config, set_ or [])
    table = training.load_table(data, target=target, task=task)
    print_notes(table.notes)
    prepared = training.prepare(table, seed=seed)
    with StepProgress("lr-find", steps, "step") as progress:
        result = training.lr_find(
            prepared,
            cfg,
            device=device,
            seed=seed,
            min_lr=min_lr,
            max_lr=max_lr,
            steps=steps,
            callback=lambda step, lr, loss: progress.update(
                step, f"lr={lr:.2g} loss={fmt(loss)}"
            ),
        )
    if plot is not None:
        training.plot_lr_find(result, plot)
        err.print(f"plot saved to {plot}", highlight=False)
    if as_json:
        print_json(dataclasses.asdict(result))
    elif not result.learning_rates:
        out.print("no suggestion: the loss was not finite at the first step")
    else:
        lrs = result.learning_rates
        out.print(
            f"suggested learning rate: {result.suggested_lr:.3g} "
            f"(swept {lrs[0]:.2g} to {lrs[-1]:.2g} in {len(lrs)} steps)"
        )


def config_from(path: Path | None, overrides: list[str]) -> TrainConfig:
    """TrainConfig from an optional JSON file, then `key=value` overrides (strings coerced)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            values = TrainConfig.from_json(text).to_dict()
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, but got {item!r}")
        values[key.strip()] = value.strip()
    return TrainConfig.from_dict(values)


class _EpochProgress(StepProgress):
    """Epochs of one run or of every CV fold, from `train`'s per-epoch callback (never prunes):
    a bar in a terminal, else a line every few seconds."""

    def __init__(self, max_epochs: int, folds: int, objective: str) -> None:
        super().__init__("train", max_epochs * folds, "epoch")
        self._max_epochs, self._folds, self._objective = max_epochs, folds, objective
        self._fold, self._started_fold = 0, False

    def __call__(self, epoch: int, value: float) -> bool:
        if epoch == 1 and self._started_fold:
            self._fold += 1  # each fold's train restarts at epoch 1
        self._started_fold = True
        fold = f"fold {self._fold + 1}/{self._folds} " if self._folds > 1 else ""
        self.update(
            self._fold * self._max_epochs + epoch,
            f"{fold}epoch {epoch} {self._objective}={fmt(value)}",
        )
        return False


def _result_table(result: TrainResult, name: str) -> RichTable:
    from rich.table import Table as RichTable

    table = RichTable(title=f"train {name}: {result.status}", show_header=False)
    table.add_row("objective", f"{result.objective} ({result.direction})")
    table.add_row("value", fmt(result.value))
    for metric, value in result.metrics.items():
        table.add_row(f"  {metric}", fmt(value))
    table.add_row("best epoch", f"{result.best_epoch} of {result.epochs_run} run")
    table.add_row("wall seconds", f"{result.wall_seconds:.2f}")
    table.add_row("device", result.device)
    if result.error:
        table.add_row("reason", result.error)
    table.add_row("config", json.dumps(result.config.to_dict()))
    return table


def _cv_table(result: CVResult, name: str) -> RichTable:
    from rich.table import Table as RichTable

    table = RichTable(
        title=f"train {name}: {len(result.folds)}-fold CV, {result.objective} ({result.direction})"
    )
    for column in ("fold", "status", result.objective, "best epoch", "epochs", "seconds"):
        table.add_column(column)
    for i, fold in enumerate(result.folds, start=1):
        table.add_row(
            str(i),
            fold.status,
            fmt(fold.value),
            str(fold.best_epoch),
            str(fold.epochs_run),
            f"{fold.wall_seconds:.2f}",
        )
    table.add_row(
        "mean ± std", f"{result.n_ok} ok", f"{fmt(result.mean)} ± {fmt(result.std)}", "", "", ""
    )
    return table
