"""The `hpo-recommend` command line: one module per command group, each thin over the library.

Each command parses its arguments, calls one public library function, and prints the result as a
table on stdout or, with `--json`, as JSON on stdout. Library errors and usage errors become a
one-line message on stderr and an exit code (see `hpo_common.errors`).

Start-up matters here: command modules import only typer at the top and load the library (pandas,
DuckDB, LightGBM, torch) inside the command that needs it, and rich loads with the first output
(typer stays below 0.29, which converts every value through pydantic). So `--help` loads neither
rich nor any library, and only commands that train load torch (`benchmarks/cli_startup.py`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from recommender.cli._common import print_error, print_notes

# click's UsageError (bad option, missing argument, unknown command), reached through typer's public
# BadParameter: recent typer vendors click as a private module, older typer uses click itself.
_UsageError: Any = typer.BadParameter.__base__


@contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """A bad option or argument (`--budget 0`) is one `error:` line and exit 2, like any other
    input error, instead of click's usage box."""
    try:
        yield
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group prints its help instead
            raise
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        print_error(f"{exc.format_message()}{where}")
        raise typer.Exit(2) from None


@contextmanager
def _warnings_as_notes() -> Iterator[None]:
    """A library's warning reaches the user as one `note:` line, without a source path."""
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *_: print_notes([str(message)])
        yield


class _Group(TyperGroup):
    """The root command group: usage errors of every sub-command pass through here."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _one_line_usage_errors(), _warnings_as_notes():
            return super().invoke(ctx)


app = typer.Typer(
    name="hpo-recommend",
    help="Hyperparameter recommendations for neural networks on tabular data.",
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: rich's help renderer costs about a third of `--help`'s start-up.
    rich_markup_mode=None,
)


def _register() -> None:
    """Import the command modules so their `@app.command` decorators run."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register()


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
