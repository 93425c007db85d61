"""Start-up: which libraries each command loads, checked in a fresh process (in this one, other
tests' imports would hide a regression)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord
from recommender.learn import META_FEATURE_NAMES
from recommender.space import default_space
from training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
WINE = str(ROOT / "examples" / "wine.csv")
HEAVY = ("torch", "sklearn", "lightgbm", "scipy", "pandas", "duckdb", "matplotlib")
# Lighter, but each a noticeable part of a start-up that should take a few tenths of a second.
LIGHT = ("numpy", "pyarrow", "pydantic", "rich")

# Runs each argument list through the CLI in one process, then prints the heavy modules loaded.
PROBE = """
import json, sys
from typer.testing import CliRunner
from recommender.cli import app
codes = [CliRunner().invoke(app, args).exit_code for args in json.loads(sys.argv[1])]
loaded = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def loaded_by(*commands: list[str]) -> tuple[list[int], set[str]]:
    """Exit codes of `commands` run in a fresh process, and the libraries of `HEAVY` and `LIGHT`
    it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands), json.dumps(HEAVY + LIGHT)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["codes"], set(report["loaded"])


def small_kb(path: Path) -> str:
    """A KB of 120 runs over 4 synthetic datasets: enough for `suggest` to fit its surrogate."""
    rng = np.random.default_rng(0)
    kb = KnowledgeBase(path)
    records = []
    for d in range(4):
        kb.add_dataset(DatasetRecord(f"ds{d}", f"synthetic{d}", "multiclass", 200, 8, 3))
        kb.set_meta_features(f"ds{d}", dict(zip(META_FEATURE_NAMES, rng.normal(
            size=len(META_FEATURE_NAMES)).tolist(), strict=True)))
        for sample in default_space().sample(30, rng):
            value = float(rng.uniform(0.1, 1.0))
            records.append(RunRecord(f"ds{d}", TrainConfig.from_dict(sample).to_dict(),
                                     "log_loss", "minimize", value, metrics={"log_loss": value}))
    kb.log_runs(records)
    return str(path)


def test_importing_the_cli_loads_no_library() -> None:
    codes, loaded = loaded_by()
    assert codes == [] and loaded == set()


def test_help_of_every_command_loads_no_library() -> None:
    commands = [["--help"], *([name, "--help"] for name in (
        "suggest", "tune", "train", "lr-find", "log", "report", "kb"))]
    codes, loaded = loaded_by(*commands, ["kb", "runs", "--help"], ["kb", "studies", "--help"])
    # not even rich (help is click's plain text) nor pydantic (typer's validators of values)
    assert set(codes) == {0} and loaded == set()


def test_kb_commands_load_neither_torch_nor_sklearn(tmp_path) -> None:
    kb = small_kb(tmp_path / "kb.duckdb")
    codes, loaded = loaded_by(
        ["kb", "stats", "--kb", kb], ["kb", "runs", "--kb", kb], ["kb", "studies", "--kb", kb]
    )
    assert codes == [0, 0, 0]
    assert not loaded & {"torch", "sklearn", "lightgbm", "matplotlib"}
    codes, loaded = loaded_by(["kb", "stats", "--kb", kb])
    assert codes == [0] and "duckdb" in loaded
    assert not loaded & {"pandas", "numpy", "pyarrow", "pydantic"}
    codes, loaded = loaded_by(["kb", "runs", "--kb", kb], ["kb", "runs", "--kb", kb, "--json"])
    assert codes == [0, 0] and not loaded & {"pandas", "numpy", "pyarrow", "pydantic"}


def test_suggest_does_not_load_torch_and_warm_only_predicts(tmp_path) -> None:
    kb = small_kb(tmp_path / "kb.duckdb")
    command = ["suggest", WINE, "--target", "cultivar", "--top", "2", "--kb", kb]
    codes, loaded = loaded_by(command)
    assert codes == [0]
    assert "lightgbm" in loaded and "torch" not in loaded  # the surrogate is fitted
    # warm: the cached surrogate predicts through LightGBM's C API, and nothing is fitted
    codes, loaded = loaded_by(command)
    assert codes == [0]
    assert not loaded & {"torch", "sklearn", "lightgbm", "scipy", "matplotlib"}
