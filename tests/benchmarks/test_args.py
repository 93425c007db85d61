"""The benchmarks' shared argument types: a bad value is a usage error naming it."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks._args import available_device

ROOT = Path(__file__).resolve().parents[2]


def test_available_device_accepts_what_this_machine_has() -> None:
    assert available_device("cpu") == "cpu"
    assert available_device("auto") == "auto"


def test_available_device_names_the_bad_value() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="'nosuch'"):
        available_device("nosuch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_a_gpu_benchmark_without_a_gpu_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_many.py"), "--device", "cuda"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "CUDA is not available here" in result.stderr
    assert "Traceback" not in result.stderr
