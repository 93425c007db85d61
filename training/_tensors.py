"""What `train` and `lr_find` share: data checked and put on the device once, batches, loss."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hpo_common.errors import DataError
from training.config import TrainConfig, forward_macs
from training.data import TASKS, PreparedData
from training.model import build_model, build_optimizer
from training.preprocess import fit_target_transform, for_config


@dataclass(frozen=True)
class DeviceData:
    """A `PreparedData` as device tensors; regression targets transformed (`target_transform`,
    by default standardised on train statistics).

    Standardising y keeps the loss near 1 whatever the target's units, so one learning-rate range
    and one divergence threshold fit every dataset; metrics are reported back in original units
    through `target.inverse_transform` (None for classification).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    target: Any
    n_outputs: int


def check_data(data: PreparedData) -> None:
    """Raise `DataError` when `data` cannot be trained on, naming the part that is wrong."""
    if data.task not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}, but got {data.task!r}")
    for split in ("train", "val"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if np.ndim(x) != 2 or len(x) == 0:
            raise DataError(
                f"x_{split} must be a non-empty 2-D matrix, but got shape {np.shape(x)}"
            )
        if len(y) != len(x):
            raise DataError(f"y_{split} has {len(y)} rows but x_{split} has {len(x)}")
    if data.x_val.shape[1] != data.x_train.shape[1]:
        raise DataError(
            f"x_val has {data.x_val.shape[1]} columns but x_train has {data.x_train.shape[1]}"
        )
    if data.task == "regression":
        return
    if data.n_classes < 2:
        raise DataError(f"a {data.task} task needs n_classes >= 2, but got {data.n_classes}")
    for split in ("train", "val"):
        y = np.asarray(getattr(data, f"y_{split}"))
        if y.min() < 0 or y.max() >= data.n_classes:
            raise DataError(
                f"y_{split} must hold class indices in [0, {data.n_classes}), "
                f"but got values from {y.min()} to {y.max()}"
            )


def to_device(
    data: PreparedData, device: torch.device, target_transform: str = "standard"
) -> DeviceData:
    """Copy the split to `device` once; every batch is then a slice of these tensors."""
    check_data(data)

    def features(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32), device=device)

    if data.task == "regression":
        transform = fit_target_transform(target_transform, data.y_train, data.y_val)

        def target(y: np.ndarray) -> torch.Tensor:
            scaled = transform.transform(np.asarray(y, dtype=np.float64).reshape(-1, 1))
            return torch.as_tensor(scaled.ravel().astype(np.float32), device=device)

        n_outputs = 1
    else:
        transform = None

        def target(y: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)

        n_outputs = data.n_classes
    return DeviceData(
        x_train=features(data.x_train),
        y_train=target(data.y_train),
        x_val=features(data.x_val),
        y_val=target(data.y_val),
        target=transform,
        n_outputs=n_outputs,
    )


def loss_fn(
    task: str, output: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy on logits for classification (with `label_smoothing`, as `TrainConfig`),
    MSE on the transformed target otherwise. An ensemble's training output, [rows, k, outputs],
    gives the mean of its members' losses."""
    if output.dim() == 3:
        k = output.shape[1]
        output, target = output.flatten(0, 1), target.repeat_interleave(k)
    if task == "regression":
        return F.mse_loss(output.squeeze(1).float(), target)
    return F.cross_entropy(output.float(), target, label_smoothing=label_smoothing)


def member_losses(
    task: str, output: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """`loss_fn` of each of K models (`output` `[K, rows, n_out]`) on the same rows: `[K]`.
    Ensembles' training outputs, `[K, rows, k, n_out]`, give each the mean of its k losses."""
    if output.dim() == 4:
        k = output.shape[2]
        output, target = output.flatten(1, 2), target.repeat_interleave(k)
    output = output.float()
    if task == "regression":
        return (output.squeeze(2) - target).pow(2).mean(1)
    # classes as dimension 1 (cross-entropy's "K-dimensional" form): no copy of the targets
    k, rows, _ = output.shape
    return F.cross_entropy(
        output.transpose(1, 2),
        target.expand(k, rows),
        reduction="none",
        label_smoothing=label_smoothing,
    ).mean(1)


def epoch_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    *,
    drop_single: bool,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One shuffled pass as contiguous slices: one gather per epoch, zero copies per batch.

    `drop_single` drops a trailing batch of one row, which batch norm cannot normalise.
    """
    n = x.shape[0]
    perm = torch.randperm(n, device=x.device, generator=generator)
    xs, ys = x[perm], y[perm]
    for i in range(n_batches(n, batch_size, drop_single=drop_single)):
        yield xs[i * batch_size : (i + 1) * batch_size], ys[i * batch_size : (i + 1) * batch_size]


def n_batches(n: int, batch_size: int, *, drop_single: bool) -> int:
    """Mini-batches per epoch of `epoch_batches` (at least 1)."""
    count = -(-n // batch_size)
    if drop_single and count > 1 and n % batch_size == 1:
        count -= 1
    return count


def autocast_for(device: torch.device) -> tuple[AbstractContextManager[object], bool]:
    """Mixed precision on CUDA only: bf16 where supported, else fp16 (which needs a grad scaler).

    Returns the autocast context and whether a `GradScaler` is needed.
    """
    if device.type != "cuda":
        return nullcontext(), False
    if torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16), False
    return torch.autocast("cuda", dtype=torch.float16), True


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    """A generator for the shuffles, seeded apart from the global RNG used by init and dropout."""
    return torch.Generator(device=device).manual_seed(seed)


def start_run(
    config: TrainConfig, data: PreparedData, device: torch.device, seed: int
) -> tuple[DeviceData, torch.nn.Module, torch.optim.Optimizer, torch.Generator]:
    """Seeded start shared by `train` and `lr_find` (so a range test matches the run it tunes):
    the data (preprocessed as `config` asks) on the device, a fresh model, its optimizer and the
    batch-shuffling generator."""
    torch.manual_seed(seed)
    data = for_config(data, config)
    tensors = to_device(data, device, config.target_transform)
    model = build_model(
        config,
        tensors.x_train.shape[1],
        tensors.n_outputs,
        n_numeric=data.n_numeric,
        cardinalities=data.cardinalities,
    ).to(device)
    optimizer = build_optimizer(config, model.parameters(), device)
    return tensors, model, optimizer, make_generator(device, seed)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def step_flops(config: TrainConfig, data: PreparedData) -> float:
    """Rough forward+backward FLOPs of one optimisation step (6 per weight per sample)."""
    n_in, n_out = data.x_train.shape[1], max(data.n_classes, 1)
    return 6.0 * config.batch_size * forward_macs(config, n_in, n_out)
