"""The `hpo-recommend` command line: one module per command group, each thin over the library.

Each command parses its arguments, calls one public library function, and prints the result as a
rich table on stderr-free stdout or, with `--json`, as JSON on stdout. Library errors become a
one-line message on stderr and an exit code (see `hpo_common.errors`).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hpo-recommend",
    help="Hyperparameter recommendations for neural networks on tabular data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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
