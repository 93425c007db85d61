"""What every command shares: error handling, `--json` output, console objects, option types."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from hpo_common.errors import HPORecommendError

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def console(*, stderr: bool) -> Console:
    """The rich console behind `err` (stderr) or `out`, made on first use; rich objects that
    take a console (a live bar) get this one, not the stand-in."""
    from recommender.cli._console import WideConsole

    return WideConsole(stderr=stderr, soft_wrap=True, markup=False)


class _LazyConsole:
    """A stand-in whose attributes are those of `console(stderr=...)`: rich costs about a quarter
    of `--help`'s start-up, and help text is printed by click, not rich."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(console(stderr=self._stderr), name)


# Human messages and progress go to stderr; stdout carries results (tables or JSON). Markup is
# off: user text (a column "cultivar [id]", a value "[/bold]", "hpo-recommend[optuna]") is
# printed as it is; the program's own styling passes markup=True with the user's part escaped.
out = cast("Console", _LazyConsole(stderr=False))
err = cast("Console", _LazyConsole(stderr=True))

F = TypeVar("F", bound=Callable[..., Any])

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
KbOption = Annotated[
    Path | None,
    typer.Option(
        "--kb",
        help="Knowledge base file (default: $HPO_RECOMMEND_KB, else a per-user data folder).",
        show_default=False,
    ),
]


def handle_errors(command: F) -> F:
    """Turn library errors into a one-line message and exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HPORecommendError as exc:
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def fmt(value: Any, digits: int = 4) -> str:
    """A number as people read it: `digits` significant digits, "-" if not finite, never "-0";
    a fraction that would round to 1 keeps the digits that show it is below (beta2 0.9995 is
    "0.9995", not "1")."""
    if not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return "-"
    value += 0.0  # turns -0.0 into 0.0
    text = f"{value:.{digits}g}"
    while abs(value) < 1 <= abs(float(text)) and digits < 8:
        digits += 1
        text = f"{value:.{digits}g}"
    return text


def print_notes(notes: Iterable[str]) -> None:
    """What the library decided on the user's behalf, one `note:` line each on stderr."""
    for note in notes:
        err.print(f"note: {note}", highlight=False)


def print_error(message: str) -> None:
    """One `error: ...` line on stderr; the message is shown literally, never as markup."""
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)


def print_json(payload: Any) -> None:
    """Write `payload` as JSON on stdout; NaN/inf become null so any JSON parser reads it."""
    sys.stdout.write(json.dumps(_json_safe(payload), indent=2, default=str) + "\n")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value
