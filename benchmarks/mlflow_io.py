"""MLflow in and out: what logging trials to MLflow costs a study, and how fast runs import.

Export: the same `tune` study (wine, tiny space, same seed, so the same configurations) is run
side by side, after one untimed warm-up study: without MLflow, logging to a SQLite tracking store
that already exists, to a new one (MLflow first creates its schema), and to a tracker that is
down (a closed port). Printed: wall time of each study, its ratio to the study without MLflow,
the longest `log_trial` call of the driver, and its wait at the end for the logging thread.

Import: `--runs` MLflow runs (params, 20-epoch metric histories) are written with real client
calls to a SQLite store, then imported into an empty knowledge base; printed: runs per second.

    python benchmarks/mlflow_io.py            # 12 trials per study, 200 runs to import
    python benchmarks/mlflow_io.py --quick    # 3 trials per study, 30 runs to import
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402

from benchmarks._args import whole_number  # noqa: E402
from knowledge_base import KnowledgeBase, RunRecord  # noqa: E402
from recommender.integrations.mlflow import MlflowLogger, import_mlflow_runs  # noqa: E402
from recommender.space import load_space  # noqa: E402
from recommender.tune import tune  # noqa: E402
from training import load_table  # noqa: E402

WINE = ROOT / "examples" / "wine.csv"
SPACE = ROOT / "tests" / "recommender" / "data" / "tiny_space.toml"


class TimedLogger(MlflowLogger):
    """An `MlflowLogger` that measures what its calls cost the driver."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.call_seconds: list[float] = []
        self.finish_seconds = 0.0

    def log_trial(self, record: RunRecord) -> None:
        started = time.perf_counter()
        super().log_trial(record)
        self.call_seconds.append(time.perf_counter() - started)

    def finish(self, best: RunRecord | None) -> None:
        started = time.perf_counter()
        super().finish(best)
        self.finish_seconds = time.perf_counter() - started


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def export(trials: int, folder: Path) -> None:
    table, space = load_table(WINE), load_space(SPACE)
    existing = f"sqlite:///{folder / 'existing.db'}"
    MlflowClient(existing).search_experiments()  # creates the schema
    targets = {
        "no MLflow": None,
        "SQLite, exists": existing,
        "SQLite, new": f"sqlite:///{folder / 'new.db'}",
        "tracker down": f"http://127.0.0.1:{closed_port()}",
    }
    tune(table, KnowledgeBase(":memory:"), space, budget=1, seed=1, pruner=None)  # warm-up
    base = None
    print(f"export: tune on wine, {trials} trials, tiny space, seed 0")
    print(f"{'target':<15} {'study s':>8} {'ratio':>6} {'log_trial ms':>13} {'end wait s':>11}")
    for name, uri in targets.items():
        loggers = () if uri is None else (TimedLogger(uri, "bench", dataset_name=table.name),)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tune(table, KnowledgeBase(":memory:"), space, budget=trials, seed=0, pruner=None,
                 loggers=loggers)
        wall = time.perf_counter() - started
        base = base or wall
        calls = f"{1000 * max(loggers[0].call_seconds):.3f}" if loggers else "-"
        wait = f"{loggers[0].finish_seconds:.2f}" if loggers else "-"
        print(f"{name:<15} {wall:8.2f} {wall / base:6.2f} {calls:>13} {wait:>11}")


def import_speed(n_runs: int, folder: Path) -> None:
    uri = f"sqlite:///{folder / 'import.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("history")
    for i in range(n_runs):
        run_id = client.create_run(experiment).info.run_id
        curve = [Metric("val_log_loss", 1.0 / (step + 1 + i % 7), 1000 + step, step)
                 for step in range(20)]
        curve += [Metric("train_loss", 1.2 / (step + 1), 1000 + step, step) for step in range(20)]
        client.log_batch(run_id, metrics=[*curve, Metric("log_loss", 0.3 + i % 7 / 100, 0, 0)],
                         params=[Param("lr", str(10 ** -(1 + i % 4))), Param("batch_size", "64"),
                                 Param("epochs", "20"), Param("optimizer", "Adam")])
        client.set_terminated(run_id)
    started = time.perf_counter()
    report = import_mlflow_runs(KnowledgeBase(":memory:"), uri, "history", dataset=WINE)
    seconds = time.perf_counter() - started
    print(f"import: {report.imported} runs (20-epoch curves) in {seconds:.2f} s, "
          f"{report.imported / seconds:.0f} runs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes")
    parser.add_argument("--trials", type=whole_number(1), help="trials per study")
    parser.add_argument("--runs", type=whole_number(1), help="MLflow runs to import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export(args.trials or (3 if args.quick else 12), Path(tmp))
        import_speed(args.runs or (30 if args.quick else 200), Path(tmp))


if __name__ == "__main__":
    main()
