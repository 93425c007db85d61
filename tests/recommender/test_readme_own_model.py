"""The README's "Your own model" example runs as printed (3 trials instead of 30)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def own_model_example() -> str:
    section = README.read_text().split("### Your own model", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_svc_example_imports_history_and_searches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = own_model_example()
    assert "N_TRIALS = 30" in code and "tell_many(history)" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code.replace("N_TRIALS = 30", "N_TRIALS = 3"), "README", "exec"), namespace)
    study = namespace["study"]
    trials = study.trials()
    assert len(trials) == 6 and (trials["status"] == "ok").all()
    assert study.best.value == trials["value"].max() > 0.9
    assert study.space.contains(study.space.project(study.best.config))
    # The seed KB knows nothing of C, gamma or kernel, and the study says so once.
    said = [str(w.message) for w in caught if "learns nothing" in str(w.message)]
    assert len(said) == 1 and "C, gamma, kernel, degree" in said[0]
