"""Samples/s of `training.train` against a plain DataLoader(TensorDataset) loop, side by side.

Both train the same MLP (`build_model` of the same config: 2 x 256 relu, adam) for the same
epochs on the same split, with one validation pass per epoch, alternating in one process so
machine noise hits both alike. Samples/s = training rows x epochs / wall seconds (best of
`--repeats`).

    python benchmarks/train_throughput.py            # 100k-row synthetic + breast cancer
    python benchmarks/train_throughput.py --quick    # smoke version (seconds)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

import training  # noqa: E402
from benchmarks._args import available_device  # noqa: E402
from training import PreparedData, TrainConfig, build_model, train  # noqa: E402

BATCH_SIZES = (64, 256, 1024)


def split(x: np.ndarray, y: np.ndarray) -> PreparedData:
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    return PreparedData(
        scaler.transform(x_tr).astype(np.float32),
        y_tr.astype(np.int64),
        scaler.transform(x_va).astype(np.float32),
        y_va.astype(np.int64),
        "binary",
        2,
    )


def synthetic(rows: int) -> PreparedData:
    x, y = make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)
    return split(x, y)


def breast_cancer() -> PreparedData:
    path = ROOT / "examples" / "breast_cancer.csv"
    if hasattr(training, "prepare"):  # the project's own loader, once merged
        return training.prepare(training.load_table(path, target="diagnosis"))
    frame = pd.read_csv(path)
    y = (frame.pop("diagnosis") == "malignant").to_numpy()
    return split(frame.to_numpy(dtype=np.float64), y)


def plain_loop(config: TrainConfig, data: PreparedData, device: str) -> float:
    """The loop most tutorials write; returns wall seconds."""
    started = time.perf_counter()
    torch.manual_seed(0)
    model = build_model(config, data.x_train.shape[1], data.n_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    train_set = TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    val_set = TensorDataset(torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=config.batch_size)
    for _ in range(config.max_epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in val_loader:
                correct += (model(xb.to(device)).argmax(1) == yb.to(device)).sum().item()
    return time.perf_counter() - started


def engine(config: TrainConfig, data: PreparedData, device: str) -> float:
    started = time.perf_counter()
    result = train(config, data, device=device)
    if result.status != "ok":
        raise SystemExit(f"train ended {result.status}: {result.error}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke version")
    parser.add_argument("--device", type=available_device, default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--width", type=int, default=256, help="units per hidden layer")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = [
        (
            "synthetic 20k" if args.quick else "synthetic 100k",
            synthetic(20_000 if args.quick else 100_000),
            1 if args.quick else 2,
        ),
        ("breast_cancer", breast_cancer(), 5 if args.quick else 30),
    ]
    print(
        f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"model=2x{args.width} relu adam"
    )
    print(
        f"{'dataset':<16}{'batch':>6}{'epochs':>7}{'DataLoader/s':>14}{'train()/s':>12}{'ratio':>8}"
    )
    for name, data, epochs in cases:
        for batch_size in BATCH_SIZES:
            config = TrainConfig(
                n_layers=2,
                width=args.width,
                optimizer="adam",
                batch_size=batch_size,
                max_epochs=epochs,
                patience=0,
            )
            if batch_size == BATCH_SIZES[0]:  # untimed warm-up: first calls pay lazy init
                plain_loop(config.replace(max_epochs=1), data, args.device)
                engine(config.replace(max_epochs=1), data, args.device)
            plain, fast = float("inf"), float("inf")
            for _ in range(repeats):  # alternate so drifting load hits both
                plain = min(plain, plain_loop(config, data, args.device))
                fast = min(fast, engine(config, data, args.device))
            samples = len(data.x_train) * epochs
            print(
                f"{name:<16}{batch_size:>6}{epochs:>7}{samples / plain:>14,.0f}"
                f"{samples / fast:>12,.0f}{plain / fast:>7.2f}x"
            )


if __name__ == "__main__":
    main()
