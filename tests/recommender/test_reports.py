"""Reports drawn from a real KB with real training runs: files, pixel sizes, the HTML page."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from matplotlib.image import imread
from study_factory import EXAMPLES, make_study
from typer.testing import CliRunner

from knowledge_base import DatasetRecord, KnowledgeBase
from recommender.cli import app
from recommender.learn import compute_meta_features
from recommender.reports import kb_report, study_report
from training import load_table

runner = CliRunner()


@pytest.fixture(scope="module")
def kb_and_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("kb") / "kb.duckdb"
    return path, make_study(KnowledgeBase(path), n_trials=6)


def _png_shape(path: Path) -> tuple[int, int]:
    assert path.stat().st_size > 5_000  # a blank PNG of this size is far smaller
    height, width = imread(path).shape[:2]
    return height, width


def test_study_report_writes_figures_and_a_self_contained_page(
    kb_and_study: tuple[Path, str], tmp_path: Path
) -> None:
    path, study_id = kb_and_study
    files = study_report(KnowledgeBase(path), study_id, tmp_path / "out")
    assert [p.name for p in files.figures] == [
        "best_so_far.png", "learning_curves.png", "importance.png",
        "learning_rate_vs_batch_size.png",
    ]
    assert all(_png_shape(p) == (500, 800) for p in files.figures)
    html = files.html.read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert [base64.b64decode(e) for e in embedded] == [p.read_bytes() for p in files.figures]
    assert "<table>" in html and html.count("<tr") == 1 + 6  # header + one row per trial
    assert 'class="best"' in html and 'class="bad"' in html  # best and diverged rows marked
    assert "src=\"http" not in html and "<link" not in html  # nothing outside the page


def test_report_cli_other_axes_and_json(kb_and_study: tuple[Path, str], tmp_path: Path) -> None:
    path, study_id = kb_and_study
    result = runner.invoke(app, ["report", study_id, "--kb", str(path), "--out",
                                 str(tmp_path), "--x", "optimizer", "--y", "width", "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert Path(written["html"]).is_file()
    assert Path(written["figures"][3]).name == "optimizer_vs_width.png"
    assert _png_shape(Path(written["figures"][3])) == (500, 800)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "no-such-study"], "no study id starts with 'no-such-study'"),
        (["report", "STUDY", "--x", "colour"], "--x/--y must name a hyperparameter"),
        (["report", "PREFIX", "--x", "colour"], "--x/--y must name a hyperparameter"),
    ],
)
def test_report_cli_bad_input_is_one_line_exit_2(
    kb_and_study: tuple[Path, str], tmp_path: Path, args: list[str], message: str
) -> None:
    path, study_id = kb_and_study
    ids = {"STUDY": study_id, "PREFIX": study_id[:6]}  # a unique prefix names the study too
    args = [ids.get(a, a) for a in args]
    result = runner.invoke(app, [*args, "--kb", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_kb_report_map_and_best_configs(kb_and_study: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = kb_and_study
    kb = KnowledgeBase(path)
    for name, target in (("diabetes.csv", "progression"), ("breast_cancer.csv", "diagnosis")):
        table = load_table(EXAMPLES / name, target=target)  # on the map, with no runs yet
        kb.add_dataset(DatasetRecord.from_table(table))
        kb.set_meta_features(table.fingerprint, compute_meta_features(table))
    files = kb_report(kb, tmp_path)
    assert [p.name for p in files.figures] == ["meta_feature_map.png", "best_configs.png"]
    assert _png_shape(files.figures[0]) == (650, 900)
    assert _png_shape(files.figures[1]) == (700, 1200)
    html = files.html.read_text()
    assert html.count("data:image/png;base64,") == 2
    assert all(f"<td>{name}</td>" in html for name in ("wine", "diabetes", "breast_cancer"))


def test_kb_report_cli(kb_and_study: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = kb_and_study
    result = runner.invoke(app, ["kb", "report", "--kb", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kb_report.html").is_file()
    assert "kb_report.html" in result.output
