"""Where a warm `suggest` spends its CPU time, phase by phase, in one fresh process.

The start-up benchmark (`benchmarks/cli_startup.py`) times whole processes; this one splits a
warm `suggest` on examples/wine.csv into its imports and the steps of `Recommender.suggest`
(CPU seconds by `time.process_time`, each step timed where the library calls it). The knowledge
base is `--kb` (default: a fresh one from the seed runs, warmed by one `suggest` first).

    python benchmarks/suggest_phases.py
    python benchmarks/suggest_phases.py --kb /tmp/x.duckdb   # a KB already warmed
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the fresh process: times the imports, then wraps the steps where suggest calls them.
PROBE = """
import sys, time
clock = time.process_time
started = clock()
import pandas, duckdb
print(f"import pandas and duckdb         {clock() - started:6.3f}")
mark = clock()
from recommender.api import Recommender
print(f"import recommender.api           {clock() - mark:6.3f}")
import recommender.api as api, recommender.suggest as suggest, recommender.learn._rank as rank
from recommender.learn._boosters import Boosters

def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        mark = clock()
        try:
            return inner(*args, **kwargs)
        finally:
            print(f"  {label:<30} {clock() - mark:6.3f}")
    setattr(owner, name, wrapper)

timed(api, "open_kb", "open the KB")
timed(api, "load_table", "read the CSV")
timed(api, "meta_features_of", "meta-features (cache)")
timed(suggest, "load_view", "load the KB view")
timed(rank, "_candidates", "candidates")
timed(rank, "fitted_surrogate", "surrogate (unpickle)")
timed(Boosters, "_loaded", "boosters into LightGBM")
timed(Boosters, "predict", "predict (with the above)")
timed(rank, "_diverse_top", "diverse top-k")
mark = clock()
Recommender(kb=sys.argv[1]).suggest("examples/wine.csv", target="cultivar", top=3)
print(f"Recommender.suggest              {clock() - mark:6.3f}")
print(f"total                            {clock() - started:6.3f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=None, help="a knowledge base already warmed")
    options = parser.parse_args()
    kb = options.kb or Path(tempfile.mkdtemp()) / "kb.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if options.kb is None:  # a new KB gets the seed runs; this first call fits the surrogate
        warm = (
            "import sys; from recommender.api import Recommender; "
            "Recommender(kb=sys.argv[1]).suggest('examples/wine.csv', target='cultivar', top=3)"
        )
        subprocess.run([sys.executable, "-c", warm, str(kb)], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "-c", PROBE, str(kb)], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    main()
