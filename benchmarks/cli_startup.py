"""Start-up cost of `hpo-recommend` commands as a user pays it: one process each.

Each command runs as its own process (as from a shell), `--repeats` times; the medians of its wall
time and of its CPU time (user + system) are printed next to those of `python -c pass` measured
in the same run, so the figures that matter are the times over bare Python. On a busy machine the
wall time mostly measures the wait for a core; the CPU time is what the command itself costs.
A second pass runs each command once under `python -X importtime` and prints which heavy
libraries it loaded and what they cost. The knowledge base is a fresh file in a temporary folder
(the seed runs), warmed by one `suggest` so that the warm case reads its caches.

    python benchmarks/cli_startup.py            # median of 5
    python benchmarks/cli_startup.py --quick    # median of 2
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from benchmarks._args import whole_number  # noqa: E402

# What a console script does: import the CLI, then parse the arguments.
ENTRY = "import sys; from recommender.cli import main; sys.argv[0] = 'hpo-recommend'; main()"
HEAVY = ("torch", "sklearn", "lightgbm", "scipy", "pandas", "pyarrow", "duckdb", "matplotlib")
EXAMPLE = ["examples/wine.csv", "--target", "cultivar"]

# (label, arguments, target seconds over bare Python)
COMMANDS: list[tuple[str, list[str], float]] = [
    ("--help", ["--help"], 0.3),
    *(
        (f"{name} --help", [*name.split(), "--help"], 0.3)
        for name in ("suggest", "tune", "train", "lr-find", "log", "report", "kb", "kb runs")
    ),
    ("kb stats", ["kb", "stats"], 0.6),
    ("kb runs", ["kb", "runs", "--limit", "5"], 0.6),
    ("suggest (warm)", ["suggest", *EXAMPLE, "--top", "3"], 1.5),
]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process from start to exit (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[3:])} failed ({done.returncode}): {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def medians(argv: list[str], env: dict[str, str], repeats: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of `repeats` runs."""
    runs = [timed(argv, env) for _ in range(repeats)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def import_costs(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds spent importing each heavy library (cumulative, as `-X importtime` reports)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", ENTRY, *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    costs: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        module = name.strip()
        if module in HEAVY and cumulative.strip().isdigit():
            costs[module] = costs.get(module, 0.0) + int(cumulative) / 1e6
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=whole_number(1), default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    options = parser.parse_args()
    repeats = 2 if options.quick else options.repeats

    folder = Path(tempfile.mkdtemp())
    env = {**os.environ, "HPO_RECOMMEND_KB": str(folder / "kb.duckdb"), "PYTHONPATH": str(ROOT)}
    cold, _ = timed([sys.executable, "-c", ENTRY, "suggest", *EXAMPLE, "--top", "3"], env)
    print(f"first suggest (new KB from the seed runs, surrogate fitted): {cold:.2f} s wall\n")

    bare_wall, bare_cpu = medians([sys.executable, "-c", "pass"], env, repeats)
    print(f"python -c pass: {bare_wall:.3f} s wall, {bare_cpu:.3f} s CPU (medians of {repeats})")
    print("over bare = the command's median minus python -c pass's; target applies to both\n")
    print(
        f"{'command':<16} {'wall':>6} {'over':>6} {'CPU':>6} {'over':>6} {'target':>6}  "
        "met   heavy imports (s, cumulative)"
    )
    for label, args, target in COMMANDS:
        seconds, cpu = medians([sys.executable, "-c", ENTRY, *args], env, repeats)
        costs = import_costs(args, env)
        loaded = ", ".join(f"{m} {s:.2f}" for m, s in costs.items()) or "none"
        met = "/".join("yes" if x < target else "NO" for x in (seconds - bare_wall, cpu - bare_cpu))
        print(
            f"{label:<16} {seconds:6.2f} {seconds - bare_wall:6.2f} {cpu:6.2f} "
            f"{cpu - bare_cpu:6.2f} {target:6.1f}  {met:<5} {loaded}"
        )
    print(f"\nload average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
