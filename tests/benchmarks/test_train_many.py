"""The batched-training benchmark runs end to end on every mix it offers, the `space` mix's
ensembles and embeddings included (the plain DataLoader loop builds a plain MLP: it sits out)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_many.py"


def test_tune_and_space_mixes_print_their_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "300", "--k", "2", "--mix", "tune", "space",
         "--repeats", "1", "--epochs", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = {line.split()[1]: line.split() for line in run.stdout.splitlines()[2:]}
    assert set(rows) == {"tune", "space"}
    assert rows["tune"][4] != "-" and rows["space"][4] == "-"  # the plain loop's column
    assert all(row[7].endswith("x") for row in rows.values())  # train_many against train
    assert all(0 <= float(row[-1].rstrip("%")) <= 100 for row in rows.values())  # bound share
