"""Records for the knowledge-base tests, and the worker functions their processes run.

Workers live here, not in a test module, so `spawn`ed processes can import them by name.
"""

from __future__ import annotations

from pathlib import Path

from knowledge_base import CurvePoint, DatasetRecord, KnowledgeBase, RunRecord


def dataset(i: int = 0, task: str = "binary") -> DatasetRecord:
    return DatasetRecord(f"fp{i}", f"data{i}", task, 100 + i, 5, 2 if task == "binary" else 0)


def curve(epochs: int, tag: float = 0.0) -> tuple[CurvePoint, ...]:
    return tuple(
        CurvePoint(e, 1.0 / e + tag, 1.1 / e + tag, 0.5 + 0.01 * e, 1e-3)
        for e in range(1, epochs + 1)
    )


def run(
    dataset_id: str = "fp0",
    value: float = 0.5,
    *,
    epochs: int = 3,
    run_id: str | None = None,
    **fields,
) -> RunRecord:
    config = fields.pop("config", {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64})
    kwargs = {"id": run_id} if run_id else {}
    return RunRecord(
        dataset_id=dataset_id,
        config=config,
        objective=fields.pop("objective", "log_loss"),
        direction=fields.pop("direction", "minimize"),
        value=value,
        metrics=fields.pop("metrics", {"log_loss": value, "accuracy": 1 - value}),
        best_epoch=epochs,
        epochs_run=epochs,
        curve=curve(epochs, value),
        wall_seconds=0.1,
        device="cpu",
        seed=fields.pop("seed", 0),
        **fields,
        **kwargs,
    )


def log_concurrently(path: str, worker: int, n_single: int, n_batches: int, batch: int) -> None:
    """One of several processes logging into one file: single runs, then batches."""
    kb = KnowledgeBase(path)
    for i in range(n_single):
        kb.log_run(run("fp0", i / 1000, run_id=f"w{worker}-s{i}"))
    for b in range(n_batches):
        kb.log_runs([run("fp0", i / 1000, run_id=f"w{worker}-b{b}-{i}") for i in range(batch)])


def log_forever(path: str, batch: int, epochs: int, prefix: str = "") -> None:
    """Log batches until killed."""
    kb = KnowledgeBase(Path(path))
    b = 0
    while True:
        kb.log_runs(
            [run("fp0", 0.1, epochs=epochs, run_id=f"{prefix}b{b}-{i}") for i in range(batch)]
        )
        b += 1


def log_one_by_one(path: str, worker: int, n: int) -> None:
    """The write pattern of tune, ask/tell and the Optuna sampler: one transaction per run."""
    kb = KnowledgeBase(path)
    for i in range(n):
        kb.log_runs([run("fp0", i / 1000, epochs=5, run_id=f"w{worker}-r{i}", seed=worker)])
