"""RealMLP-TD (pytabkit, Holzmueller et al. 2024) against hpo-recommend's trainer, side by side.

Datasets: seed datasets of scripts/seed_datasets_v2.csv, every task, each held out in turn from a
KB export (a KB of the export without it, by name, so `suggest` and `tune` never saw it): by
default the shipped seed (the wide build as far as it came), or `--kb-export DIR`. Methods, all
on CPU with the same rows:
  realmlp   pytabkit's RealMLP_TD_Classifier/Regressor with its defaults, except for
            classification val_metric_name="cross_entropy", use_ls=False (pytabkit's own advice
            when the metric is log loss, as here); numeric NaNs filled with training medians
            (RealMLP refuses them).
  default   the library default `TrainConfig()`.
  top1      `suggest`'s first configuration, from the held-out KB.
  modern    `recommender.learn.MODERN_RECIPE`: one fixed configuration using the recipe elements
            (robust scaling with smooth clipping, periodic embeddings, categorical embeddings,
            AdamW, cosine schedule); the first of the default ranking.
  tune      `tune --budget N` (only with --tune-budget N), its best configuration retrained.

Protocol, the same for every method: the table is split once (stratified, 80/20, seed 0) into
training rows and an untouched test split; the training rows are split again (80/20, seed 0) into
fitting rows and an early-stopping holdout. Every method fits on the fitting rows, picks its best
epoch (and `tune` its best trial) on the holdout, and is scored once on the test split. (Plain
`train` scores the split it early-stops on; here that split is the holdout and the test split is
scored from the kept best-epoch model.) Scores: log loss (classification; accuracy too) and R²
(regression).

    pip install -e ".[bench,seed]"
    python benchmarks/vs_realmlp.py --quick                   # 3 datasets, smoke run
    python benchmarks/vs_realmlp.py --datasets a,b --max-rows 3000 --threads 1
    python benchmarks/vs_realmlp.py --tune-budget 10 --max-rows 2000 --out scores.csv

With `--out FILE`, every score is written after each dataset, and a rerun of the same command
skips the datasets FILE holds (a FILE made with another row cap, tune budget or KB export, or
an export with another run count, is refused).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._args import kb_export, whole_number  # noqa: E402
from benchmarks._resume import refuse_other_settings  # noqa: E402
from benchmarks._seed_kb import export_runs, held_out_kb  # noqa: E402
from recommender._kb import SEED_KB_DIR  # noqa: E402
from recommender.learn import MODERN_RECIPE  # noqa: E402
from scripts.seed_datasets import load_seed_table, seed_datasets  # noqa: E402
from training import Table, TrainConfig, build_model, for_config, prepare, train  # noqa: E402
from training.metrics import classification_metrics, regression_metrics  # noqa: E402
from training.preprocess import fit_target_transform  # noqa: E402

# Held-out datasets of every task, small and mid-size, in the order they are run.
DATASETS = (
    "aer_creditcard_accept", "windsor_house_price", "gsoep_school_track",
    "pneumonia_hospital", "griliches_wage", "catsup_brand_choice",
    "math_placement_success", "card_schooling_wage", "kakadu_wtp_answer",
    "tipi_voted", "lalonde_psid_earnings", "heating_system_choice",
    "std_reinfection", "belgian_tobacco_share", "goldenrod_gall_fate",
    "nmes1988_visits",
)  # fmt: skip
MODERN = TrainConfig.from_dict(MODERN_RECIPE)
SEED = 0


def held_out(names: list[str]) -> list:
    """The named datasets of the seed list."""
    listed = {d.name: d for d in seed_datasets()}
    unknown = [n for n in names if n not in listed]
    if unknown:
        raise SystemExit(
            f"unknown dataset(s) {', '.join(unknown)}; see scripts/seed_datasets_v2.csv"
        )
    return [listed[n] for n in names]


def subset(table: Table, rows: np.ndarray, part: str) -> Table:
    """The rows `rows` of `table` as a table of their own."""
    return Table(
        frame=table.frame.iloc[rows].reset_index(drop=True),
        y=table.y.iloc[rows].reset_index(drop=True),
        target=table.target,
        task=table.task,
        fingerprint=f"{table.fingerprint}-{part}",
        name=f"{table.name}-{part}",
    )


def fit_and_test(table: Table, seed: int = SEED) -> tuple[Table, Table]:
    """The 80/20 split (`prepare`'s, with `seed`): training rows, and untouched test rows."""
    outer = prepare(table, seed=seed)
    return subset(table, outer.source.train, "fit"), subset(table, outer.source.val, "test")


def test_scores(task: str, y: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """Log loss and accuracy, or R² and RMSE, of `output` (probabilities or predictions)."""
    if task == "regression":
        return regression_metrics(y, output)
    return classification_metrics(y, output, task)


def score_config(
    config: TrainConfig, fit: Table, test: Table, split_seed: int = SEED
) -> dict[str, float]:
    """Train on the fitting rows (early stopping on the holdout, `prepare`'s split with
    `split_seed`), score the best epoch on test."""
    data = prepare(fit, seed=split_seed)
    result = train(config, data, device="cpu", seed=SEED, keep_model=True)
    if result.status != "ok" or result.model_state is None:
        return {"status": result.status}
    variant = for_config(data, config)
    x = torch.as_tensor(variant.preprocessor.transform(test.frame), dtype=torch.float32)
    model = build_model(
        config,
        x.shape[1],
        max(variant.n_classes, 1),
        n_numeric=variant.n_numeric,
        cardinalities=variant.cardinalities,
    )
    model.load_state_dict(result.model_state)
    with torch.inference_mode():
        output = model.eval()(x).double().numpy()
    if fit.task == "regression":
        target = fit_target_transform(config.target_transform, variant.y_train, variant.y_val)
        pred = target.inverse_transform(output).ravel()
        return test_scores("regression", test.y.to_numpy(dtype=np.float64), pred)
    proba = torch.softmax(torch.as_tensor(output), dim=1).numpy()
    codes = pd.Categorical(test.y, categories=list(variant.classes)).codes
    return test_scores(fit.task, codes, proba)


def realmlp_frames(fit: Table, test: Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features for pytabkit: categorical columns as `category`, numeric NaNs as fit medians."""
    frames = []
    medians = fit.frame.median(numeric_only=True)
    for frame in (fit.frame, test.frame):
        frame = frame.copy()
        for column in frame.columns:
            if column in medians.index:
                frame[column] = frame[column].astype(float).fillna(medians[column])
            else:
                frame[column] = frame[column].astype(str).astype("category")
        frames.append(frame)
    return frames[0], frames[1]


def score_realmlp(fit: Table, test: Table, threads: int) -> dict[str, float]:
    """RealMLP-TD fitted on the same fitting rows, early-stopping on the same holdout."""
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    data = prepare(fit, seed=SEED)  # only for its split of the rows
    train_rows, holdout_rows = data.source.train, data.source.val
    x_fit, x_test = realmlp_frames(fit, test)
    common = {"device": "cpu", "random_state": SEED, "n_threads": threads, "verbosity": 0}
    if fit.task == "regression":
        model = RealMLP_TD_Regressor(**common)
    else:
        model = RealMLP_TD_Classifier(**common, val_metric_name="cross_entropy", use_ls=False)
    y = fit.y.to_numpy()
    model.fit(
        x_fit.iloc[train_rows],
        y[train_rows],
        X_val=x_fit.iloc[holdout_rows],
        y_val=y[holdout_rows],
    )
    if fit.task == "regression":
        return test_scores("regression", test.y.to_numpy(dtype=np.float64), model.predict(x_test))
    proba = model.predict_proba(x_test)
    codes = pd.Categorical(test.y, categories=list(model.classes_)).codes
    return test_scores(fit.task, codes, proba)


def suggested(fit: Table, kb: Path) -> TrainConfig:
    from recommender import Recommender

    config = Recommender(kb=kb).suggest(fit, top=1, seed=SEED).suggestions[0].config
    return TrainConfig.from_dict(config)


def tuned(fit: Table, kb: Path, budget: int) -> TrainConfig:
    from recommender import Recommender

    result = Recommender(kb=kb).tune(fit, budget=budget, seed=SEED, device="cpu")
    return TrainConfig.from_dict(result.best_config) if result.best_config else TrainConfig()


def run_dataset(spec, max_rows: int, threads: int, tune_budget: int, kb: Path) -> list[dict]:
    table = load_seed_table(spec, max_rows)
    fit, test = fit_and_test(table)
    methods = {
        "realmlp": lambda: score_realmlp(fit, test, threads),
        "default": lambda: score_config(TrainConfig(), fit, test),
        "top1": lambda: score_config(suggested(fit, kb), fit, test),
        "modern": lambda: score_config(MODERN, fit, test),
    }
    if tune_budget:
        methods["tune"] = lambda: score_config(tuned(fit, kb, tune_budget), fit, test)
    rows = []
    for method, scorer in methods.items():
        started = time.perf_counter()
        try:
            scores = scorer()
        except Exception as exc:  # a method that fails on a dataset is reported, not fatal
            scores = {"status": f"error: {type(exc).__name__}: {exc}"[:120]}
        seconds = time.perf_counter() - started
        rows.append({"dataset": spec.name, "task": table.task, "rows": table.n_rows,
                     "method": method, "seconds": seconds, **scores})  # fmt: skip
        print(f"  {spec.name:28s} {method:8s} {seconds:6.1f}s "
              + " ".join(f"{k}={v:.4f}" for k, v in scores.items() if isinstance(v, float)),
              flush=True)  # fmt: skip
    return rows


ELEMENTS = {
    "default": {},
    "robust scaling": {"numeric_preprocessing": "robust"},
    "quantile scaling": {"numeric_preprocessing": "quantile"},
    "quantile target": {"target_transform": "quantile"},
    "periodic (d=8)": {"num_embedding": "periodic", "embedding_dim": 8},
    "categorical emb.": {"categorical": "embedding"},
    "label smoothing": {"label_smoothing": 0.1},
    "TabM-mini k=8": {"ensemble_size": 8},
}


def step_costs(spec, max_rows: int, repeats: int = 3) -> None:
    """Per-step training time of each recipe element alone on `spec` (5 epochs, no early stop;
    the median of `repeats` runs after one warm-up run), and the one-off preprocessing refit."""
    table = load_seed_table(spec, max_rows)
    data = prepare(table, seed=SEED)
    train(TrainConfig(max_epochs=1), data, device="cpu")  # warm-up: torch's first-call costs
    print(f"\nCost per step on {spec.name} ({table.n_rows} rows, {table.task}, batch 128, CPU):")
    base = None
    for label, changes in ELEMENTS.items():
        config = TrainConfig(max_epochs=5, patience=0, **changes)
        started = time.perf_counter()
        variant = for_config(data, config)
        refit = time.perf_counter() - started
        steps = 5 * -(-len(variant.x_train) // config.batch_size)
        runs = [train(config, variant, device="cpu", seed=SEED) for _ in range(repeats)]
        per_step = float(np.median([r.wall_seconds for r in runs])) / steps * 1e3
        base = base or per_step
        print(
            f"  {label:18s} {per_step:6.2f} ms/step ({per_step / base:4.2f}x), "
            f"{variant.x_train.shape[1]} input columns, preprocessing refit {refit:.2f} s"
        )


def summarise(frame: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Per task and method: wins against RealMLP-TD and the mean gap of the main score."""
    frame = frame.assign(
        score=np.where(frame["task"] == "regression", frame.get("r2"), -frame.get("log_loss"))
    )
    wide = frame.pivot_table(index=["task", "dataset"], columns="method", values="score")
    out = []
    for task, group in wide.groupby(level="task"):
        for method in methods:
            if method == "realmlp" or method not in group:
                continue
            both = group[[method, "realmlp"]].dropna()
            gap = both[method] - both["realmlp"]
            out.append({"task": task, "method": method, "datasets": len(both),
                        "wins": int((gap > 0).sum()), "mean_gap": float(gap.mean())})  # fmt: skip
    return pd.DataFrame(out)


def report(frame: pd.DataFrame) -> None:
    """The test-score table and the comparison with RealMLP-TD."""
    methods = list(dict.fromkeys(frame["method"]))
    print("\nTest scores (log loss for classification, R² for regression):")
    main_score = np.where(frame["task"] == "regression", frame.get("r2"), frame.get("log_loss"))
    print(frame.assign(score=main_score)
          .pivot_table(index=["task", "dataset"], columns="method", values="score")[methods]
          .round(4).to_string())  # fmt: skip
    print("\nAgainst RealMLP-TD (gap: R² difference, or log-loss improvement; > 0 is better):")
    print(summarise(frame, methods).round(4).to_string(index=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", help="comma-separated names (default: the built-in list)")
    parser.add_argument("--max-rows", type=whole_number(100), default=3000)
    parser.add_argument("--threads", type=whole_number(1), default=1)
    parser.add_argument("--tune-budget", type=whole_number(0), default=0)
    parser.add_argument(
        "--kb-export",
        type=kb_export,
        default=SEED_KB_DIR,
        help="suggest and tune from this KB export (a folder of Parquet), each dataset held out "
        "(default: the shipped seed)",
    )
    parser.add_argument("--quick", action="store_true", help="3 datasets, one per task")
    parser.add_argument(
        "--out",
        type=Path,
        help="CSV of every score, written after each dataset; a rerun resumes it",
    )
    parser.add_argument("--summarise", type=Path, help="only print the tables of an --out file")
    parser.add_argument(
        "--step-cost", action="store_true", help="only time each recipe element per step"
    )
    args = parser.parse_args(argv)
    if args.summarise:
        if not args.summarise.is_file():
            parser.error(f"--summarise {args.summarise}: no such file (an --out CSV of this run)")
        report(pd.read_csv(args.summarise))
        return
    default = DATASETS[:3] if args.quick else DATASETS
    names = args.datasets.split(",") if args.datasets else list(default)
    specs = held_out(names)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # pytabkit's and lightning's chatter
    if args.step_cost:
        step_costs(specs[0], args.max_rows)
        return
    started = time.perf_counter()
    settings = {
        "max_rows": args.max_rows,
        "tune_budget": args.tune_budget,
        "kb_export": str(args.kb_export),
        "kb_runs": export_runs(args.kb_export),
    }
    rows: list[dict] = []
    if args.out and args.out.exists():  # a rerun resumes: the datasets it holds are kept
        rows = pd.read_csv(args.out).to_dict("records")
        refuse_other_settings(rows, settings, args.out)
        print(f"{len({r['dataset'] for r in rows})} datasets already in {args.out}", flush=True)
    done = {r["dataset"] for r in rows}
    with tempfile.TemporaryDirectory() as folder:
        for spec in [s for s in specs if s.name not in done]:
            kb = held_out_kb(args.kb_export, spec.name, Path(folder) / spec.name / "kb.duckdb")
            scores = run_dataset(spec, args.max_rows, args.threads, args.tune_budget, kb)
            rows += [{**row, **settings} for row in scores]
            if args.out:  # a run cut short keeps the datasets it finished
                pd.DataFrame(rows).to_csv(args.out, index=False)
    chosen = {spec.name for spec in specs}
    report(pd.DataFrame([r for r in rows if r["dataset"] in chosen]))
    print(f"\n{len(specs)} datasets in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
