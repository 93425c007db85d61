"""The seed-KB builder end to end: real datasets (scikit-learn's bundled ones), real training
with `train_many` in a worker process, a real DuckDB file and Parquet exports; then resumed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from knowledge_base import KnowledgeBase
from recommender.learn import LONG_RECIPE, MODERN_RECIPE
from scripts import build_seed_kb as build_module
from scripts.build_seed_kb import (
    BLOCK_FIELDS,
    build,
    design,
    estimated_seconds,
    grouped,
    ordered_jobs,
    parse_args,
)
from scripts.seed_datasets import seed_datasets
from training import BATCH_FIELDS, GROUP_FIELDS, TrainConfig

COLUMNS = "name,source,package,item,target,task,drop_columns,n_rows,n_features,n_categorical"
SPEC = f"""{COLUMNS},pct_missing_cells,notes
diabetes,sklearn,,load_diabetes,target,regression,,442,10,0,0.0,test
iris,sklearn,,load_iris,target,multiclass,,150,4,0,0.0,test
"""


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--spec", str(tmp_path / "spec.csv"), "--kb", str(tmp_path / "kb.duckdb"),
        "--partial", str(tmp_path / "partial"), "--out", str(tmp_path / "out"),
        "--shared", "2", "--group", "2", "--max-epochs", "3", "--max-rows", "300",
        "--workers", "1", *extra,
    ]  # fmt: skip


def test_blocks_share_their_lead_group_fields() -> None:
    (dataset,) = [d for d in seed_datasets() if d.name == "digits"]
    configs = design(dataset, n_configs=11, n_shared=4, group=4, max_epochs=150)
    # the anchors first, as they are: the library default and the modern and long recipes
    modern, long = TrainConfig.from_dict(MODERN_RECIPE), TrainConfig.from_dict(LONG_RECIPE)
    assert configs[:3] == [TrainConfig(), modern, long.replace(max_epochs=150)]  # 200, capped
    assert configs[0].max_epochs == 50 and configs[1].num_embedding == "periodic"
    for block in (configs[3:7], configs[7:11]):
        assert len({tuple(getattr(c, name) for name in BLOCK_FIELDS) for c in block}) == 1
        assert len({(c.learning_rate, c.weight_decay) for c in block}) == 4  # the rest moves
    assert all(c.max_epochs <= 150 for c in configs)
    assert max(c.max_epochs for c in configs) > 20  # training length is sampled, not fixed
    # a larger design keeps every configuration of a smaller one: a rebuild trains only new ones
    assert design(dataset, 15, 4, 4, 150)[:11] == configs
    points = [
        {"optimizer": "sgd", "momentum": 0.5, "width": 32},
        {"optimizer": "adam", "width": 64},
    ]
    assert grouped(points, 2)[1] == {"optimizer": "sgd", "momentum": 0.5, "width": 32}
    # the design is spelled out (stable across sessions) but still makes blocks that stack
    assert set(BATCH_FIELDS) <= set(BLOCK_FIELDS) and set(GROUP_FIELDS) < set(BLOCK_FIELDS)


def test_build_trains_records_exports_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spec.csv").write_text(SPEC)
    progress = build(parse_args(_args(tmp_path, "--configs", "5", "--datasets", "iris,diabetes")))
    assert progress.runs == 10 and progress.failed_blocks == 0
    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    runs = kb.runs()
    assert len(runs) == 10 and set(runs["source"]) == {"seed"}
    assert len(kb.datasets()) == 2
    partial = pd.read_parquet(tmp_path / "partial" / "runs.parquet")
    assert len(partial) == 10
    curves = pd.read_parquet(tmp_path / "partial" / "curves.parquet")
    assert len(curves) == runs["epochs_run"].sum()  # every epoch's curve point is stored
    assert not (tmp_path / "out").exists()  # a subset is not a complete build

    # Resumed with a larger design and every dataset: only the new configurations train, and
    # the build is complete, so it is exported to --out. Stored meta-features are not redone.
    computed = []
    monkeypatch.setattr(build_module, "compute_meta_features", computed.append)
    progress = build(parse_args(_args(tmp_path, "--configs", "7")))
    assert computed == []
    monkeypatch.undo()
    assert progress.runs == 4
    assert len(kb.runs()) == 14
    assert len(pd.read_parquet(tmp_path / "out" / "runs.parquet")) == 14
    assert build(parse_args(_args(tmp_path, "--configs", "7"))).runs == 0

    # A fresh checkout has the partial export but not the KB file: the build starts from it,
    # even on a machine whose exp/log round the design's floats differently in the last bit.
    for table in ("runs", "curves"):  # as if the partial runs had been trained elsewhere
        exported = pd.read_parquet(tmp_path / "partial" / f"{table}.parquet")
        id_column = "id" if table == "runs" else "run_id"
        exported[id_column] = exported[id_column].str[::-1]
        if table == "runs":
            exported["learning_rate"] = np.nextafter(exported["learning_rate"], np.inf)
        exported.to_parquet(tmp_path / "partial" / f"{table}.parquet")
    (tmp_path / "kb.duckdb").unlink()
    assert build(parse_args(_args(tmp_path, "--configs", "7"))).runs == 0
    assert len(KnowledgeBase(tmp_path / "kb.duckdb").runs()) == 14


def test_cheapest_blocks_first_over_every_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "spec.csv").write_text(SPEC)
    datasets = sorted(seed_datasets(tmp_path / "spec.csv"), key=lambda d: d.n_rows)
    args = parse_args(_args(tmp_path, "--configs", "7"))
    jobs = ordered_jobs(KnowledgeBase(tmp_path / "plan.duckdb"), datasets, args)
    costs = [job.estimated_seconds for job in jobs]
    assert costs == sorted(costs)
    # the larger dataset's anchors before the smaller one's wide ensemble block
    names = [job.dataset.name for job in jobs]
    assert names != sorted(names, key=["iris", "diabetes"].index)
    widest = max(jobs, key=lambda job: job.configs[0].width * job.configs[0].ensemble_size)
    assert jobs.index(widest) > names.index("diabetes")
    # the estimate grows with what costs: width, ensemble members, epochs, rows, smaller batches
    base = TrainConfig(width=64, n_layers=2, batch_size=128, max_epochs=50)
    cost = estimated_seconds((base,), 1000, 10)
    for costlier in (
        base.replace(width=256),
        base.replace(ensemble_size=4),
        base.replace(max_epochs=100),
        base.replace(batch_size=16),
        base.replace(num_embedding="periodic"),
    ):
        assert estimated_seconds((costlier,), 1000, 10) > cost
    assert estimated_seconds((base,), 2000, 10) > cost

    # with one worker, blocks are recorded in that order; --order size trains whole datasets
    build(parse_args(_args(tmp_path, "--configs", "7")))
    printed = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
    assert [n for n in printed if n in ("iris", "diabetes")] == names
    elsewhere = ["--kb", str(tmp_path / "size.duckdb"), "--partial", str(tmp_path / "size")]
    build(parse_args(_args(tmp_path, "--configs", "7", "--order", "size", *elsewhere)))
    printed = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
    # 150 rows before 442, against the list's order
    assert [n for n in printed if n in ("iris", "diabetes")] == ["iris"] * 3 + ["diabetes"] * 3


def test_unknown_dataset_and_bad_options_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "spec.csv").write_text(SPEC)
    with pytest.raises(SystemExit, match="nope not in"):
        build(parse_args(_args(tmp_path, "--datasets", "iris,nope")))
    with pytest.raises(SystemExit):
        parse_args(_args(tmp_path, "--group", "0"))
    with pytest.raises(SystemExit):
        parse_args(_args(tmp_path, "--configs", "1", "--shared", "0"))  # fewer than the anchors


def test_stop_after_records_what_finished_and_is_not_a_complete_build(tmp_path: Path) -> None:
    (tmp_path / "spec.csv").write_text(SPEC)
    progress = build(parse_args(_args(tmp_path, "--configs", "5", "--stop-after", "1e-9")))
    assert progress.runs == len(KnowledgeBase(tmp_path / "kb.duckdb").runs()) == 0
    assert (tmp_path / "partial" / "runs.parquet").exists()
    assert not (tmp_path / "out").exists()


def test_pace_scales_the_estimate_by_how_long_finished_blocks_took(tmp_path: Path) -> None:
    (tmp_path / "spec.csv").write_text(SPEC)
    datasets = seed_datasets(tmp_path / "spec.csv")
    args = parse_args(_args(tmp_path, "--configs", "7"))
    first, second, *_ = ordered_jobs(KnowledgeBase(tmp_path / "plan.duckdb"), datasets, args)
    pace = build_module.Pace()
    assert pace.expected_seconds(second) == 0.0  # nothing finished yet: start it
    pace.record(first, 0.5 * first.estimated_seconds)  # runs early-stopped: half the estimate
    assert pace.expected_seconds(second) == pytest.approx(0.5 * second.estimated_seconds)
    pace.record(first, 0.1 * first.estimated_seconds)
    pace.record(first, 2.0 * first.estimated_seconds)  # a loaded machine: the median holds
    assert pace.expected_seconds(second) == pytest.approx(0.5 * second.estimated_seconds)


def test_stop_after_starts_no_block_likely_to_end_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "spec.csv").write_text(SPEC)
    # once a block has finished, every next one looks like a day's work
    monkeypatch.setattr(
        build_module.Pace, "expected_seconds", lambda self, job: 86_400.0 if self.ratios else 0.0
    )
    progress = build(parse_args(_args(tmp_path, "--configs", "7", "--stop-after", "3600")))
    first = ordered_jobs(
        KnowledgeBase(tmp_path / "plan.duckdb"), seed_datasets(tmp_path / "spec.csv"),
        parse_args(_args(tmp_path, "--configs", "7")),
    )[0]  # fmt: skip
    assert progress.runs == len(first.configs) == len(KnowledgeBase(tmp_path / "kb.duckdb").runs())
    assert "stopped by --stop-after: 5 blocks left" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
