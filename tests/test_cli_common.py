from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from hpo_common.errors import ConfigError, KnowledgeBaseError
from recommender.cli._common import fmt, handle_errors, print_json


def _app_raising(exc: Exception) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @handle_errors
    def boom() -> None:
        raise exc

    return app


def test_input_error_exits_2_with_one_line_and_no_traceback() -> None:
    result = CliRunner().invoke(_app_raising(ConfigError("dropout must be >= 0.0, but got -1")))
    assert result.exit_code == 2
    assert "dropout must be >= 0.0, but got -1" in result.output
    assert "Traceback" not in result.output


def test_failure_exits_1() -> None:
    result = CliRunner().invoke(_app_raising(KnowledgeBaseError("locked")))
    assert result.exit_code == 1


def test_print_json_writes_nan_as_null(capsys) -> None:
    print_json({"a": float("nan"), "b": [1.5, float("inf")]})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [1.5, None]}


def test_messages_with_brackets_are_printed_literally() -> None:
    hint = "importing an Optuna study needs optuna: pip install 'hpo-recommend[optuna]' [/x]"
    result = CliRunner().invoke(_app_raising(ConfigError(hint)))
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {hint}"


def test_fmt_never_prints_negative_zero() -> None:
    assert (fmt(-0.0), fmt(0.0), fmt(-1.5e-6), fmt(float("nan")), fmt(3)) == (
        "0", "0", "-1.5e-06", "-", "3"
    )


def test_fmt_does_not_round_a_fraction_up_to_one() -> None:
    # beta2 = 0.9995 printed as "1" would read as an invalid setting.
    assert (fmt(0.9995, 3), fmt(-0.99995, 3), fmt(0.5, 3), fmt(100.4, 3)) == (
        "0.9995", "-0.99995", "0.5", "100"
    )
