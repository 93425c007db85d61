"""`hpo-recommend suggest`: zero-shot configurations for a dataset."""

from __future__ import annotations

import json
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
    print_notes,
)

if TYPE_CHECKING:
    from recommender.suggest import SuggestResult

# The hyperparameters that matter most, in the order a person reads them.
SHOWN = (
    "optimizer",
    "learning_rate",
    "batch_size",
    "n_layers",
    "width",
    "activation",
    "dropout",
    "weight_decay",
    "lr_schedule",
    "max_epochs",
)


@app.command("suggest")
@handle_errors
def suggest_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file of the dataset.")],
    target: Annotated[str | None, typer.Option(help="Target column (default: the last).")] = None,
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression.")] = None,
    top: Annotated[int, typer.Option(min=1, help="How many configurations.")] = 5,
    objective: Annotated[str | None, typer.Option(help="Metric to optimise.")] = None,
    space: Annotated[
        Path | None, typer.Option(help="Search-space file (.toml/.json/.yaml).")
    ] = None,
    save_config: Annotated[
        Path | None, typer.Option(help="Write the top configuration as JSON (for train --config).")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the sampled candidates and the surrogate's fit.")
    ] = 0,
    kb: KbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Recommend training configurations for DATA at once, learned from the knowledge base."""
    from recommender.api import Recommender  # the library loads after arguments are parsed

    result = Recommender(kb=kb, space=space).suggest(
        data, target=target, task=task, top=top, objective=objective, seed=seed
    )
    if save_config is not None:
        save_config.write_text(json.dumps(result.suggestions[0].config, indent=2) + "\n")
        err.print(f"top configuration written to {save_config}")
    print_notes(result.notes)
    if json_output:
        print_json(result.to_dict())
    else:
        _print_tables(result)


def _print_tables(result: SuggestResult) -> None:
    from rich.table import Table as RichTable

    from training.config import in_effect

    # One column per suggestion, one row per hyperparameter: fits a narrow terminal.
    table = RichTable(
        title=f"Suggestions for {result.dataset_name} ({result.task}, objective {result.objective})"
    )
    table.add_column("hyperparameter", no_wrap=True, min_width=15)
    for s in result.suggestions:
        table.add_column(f"#{s.rank}", overflow="fold")
    effective = [set(in_effect(s.config, result.task)) for s in result.suggestions]
    for name in _rows([s.config for s in result.suggestions], effective):
        table.add_row(
            name,
            *(_cell(s.config.get(name), name in used)
              for s, used in zip(result.suggestions, effective, strict=True)),
        )  # fmt: skip
    table.add_row(
        "predicted score",
        *(
            "—" if s.predicted_score is None else f"{s.predicted_score:+.2f} ± {s.uncertainty:.2f}"
            for s in result.suggestions
        ),
    )
    out.print(table)
    # Origins are whole sentences: one line each reads better than a folded narrow column.
    for s in result.suggestions:
        out.print(f"#{s.rank} from {s.origin}", highlight=False)
    err.print(
        "predicted score: normalised (standard-normal quantile within a dataset; higher is "
        "better) ± the ensemble's spread; ranked by score − spread",
        highlight=False,
    )
    if result.similar_datasets:
        evidence = RichTable(title="Most similar datasets in the knowledge base")
        for column in ("dataset", "distance", "best value", "its best configuration"):
            evidence.add_column(column)
        for d in result.similar_datasets:
            best = "—" if d.best_value is None else f"{d.objective} {fmt(d.best_value)}"
            evidence.add_row(d.name, f"{d.distance:.2f}", best, _brief(d.best_config))
        out.print(evidence)
    if result.known_best_runs:
        known = RichTable(title="This dataset is in the knowledge base: its best runs")
        for column in ("run", result.objective, "configuration"):
            known.add_column(column)
        for run in result.known_best_runs:
            known.add_row(
                str(run["run_id"])[:12], fmt(run[result.objective]), _brief(run["config"])
            )
        out.print(known)


def _rows(configs: list[dict[str, Any]], effective: list[set[str]]) -> list[str]:
    """`SHOWN`, then every other hyperparameter that some suggestion sets, in effect, away from
    the library default (a recipe element, an ensemble, warm-up): nothing left out to copy."""
    from training.config import TrainConfig

    defaults = TrainConfig().to_dict()
    others = [
        name for name in defaults
        if name not in SHOWN and any(
            name in used and c.get(name, defaults[name]) != defaults[name]
            for c, used in zip(configs, effective, strict=True)
        )
    ]  # fmt: skip
    return [*SHOWN, *others]


def _cell(value: Any, in_effect: bool) -> str:
    """The value, or a dash where it changes nothing (momentum of adam, another task's field)."""
    return fmt(value, 3) if in_effect and value is not None else "—"


def _brief(config: dict[str, Any]) -> str:
    return ", ".join(f"{k}={fmt(config[k], 3)}" for k in SHOWN if k in config)
