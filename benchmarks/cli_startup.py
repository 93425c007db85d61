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
    git archive COMMIT | tar -x -C /tmp/before && \\
        python benchmarks/cli_startup.py --baseline /tmp/before   # and an older tree, turn by turn
    python benchmarks/cli_startup.py --baseline . --baseline-python OTHER_VENV/bin/python
                                            # this tree in another environment (a dependency change)
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
    ("kb studies --help", ["kb", "studies", "--help"], 0.3),
    ("kb stats", ["kb", "stats"], 0.6),
    ("kb runs", ["kb", "runs", "--limit", "5"], 0.6),
    ("suggest (warm)", ["suggest", *EXAMPLE, "--top", "3"], 1.5),
]


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float] | None:
    """Wall and CPU seconds of one process from start to exit (its output discarded); None if
    it failed (a command the baseline does not have)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        return None
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def tree_env(root: Path, folder: Path) -> dict[str, str]:
    """Run a source tree's code (it is also the working folder) on a KB of its own."""
    return {**os.environ, "PYTHONPATH": str(root), "HPO_RECOMMEND_KB": str(folder / "kb.duckdb")}


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


def median_pair(runs: list[tuple[float, float] | None]) -> tuple[float, float] | None:
    """Median wall and median CPU seconds, or None if any run failed."""
    if not runs or any(r is None for r in runs):
        return None
    return (statistics.median(r[0] for r in runs if r), statistics.median(r[1] for r in runs if r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=whole_number(1), default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    parser.add_argument(
        "--baseline", type=Path, default=None,
        help="another source tree (e.g. `git archive COMMIT | tar -x -C DIR`) measured in the "
        "same run, turn by turn with this one",
    )
    parser.add_argument(
        "--baseline-python", type=Path, default=Path(sys.executable),
        help="the interpreter (its environment's packages) that runs --baseline; default: this one",
    )
    options = parser.parse_args()
    if not os.access(options.baseline_python, os.X_OK) or options.baseline_python.is_dir():
        parser.error(f"--baseline-python {options.baseline_python}: not an executable interpreter")
    repeats = 2 if options.quick else options.repeats
    trees = [ROOT] + ([options.baseline.resolve()] if options.baseline else [])
    pythons = [sys.executable, str(options.baseline_python)][: len(trees)]
    envs = [tree_env(root, Path(tempfile.mkdtemp())) for root in trees]
    for root, env, python in zip(trees, envs, pythons, strict=True):
        cold = timed([python, "-c", ENTRY, "suggest", *EXAMPLE, "--top", "3"], env, root)
        seconds = "failed" if cold is None else f"{cold[0]:.2f} s wall"
        print(f"{root} ({python}): first suggest (new KB, surrogate fitted): {seconds}")

    python = [sys.executable, "-c", "pass"]
    bare = median_pair([timed(python, envs[0], ROOT) for _ in range(repeats)])
    if bare is None:
        sys.exit("python -c pass failed")
    print(f"\npython -c pass: {bare[0]:.3f} s wall, {bare[1]:.3f} s CPU (medians of {repeats})")
    print("over = the command's median minus python -c pass's; the target applies to both")
    baseline = f" {'before CPU':>10} {'CPU ratio':>9}" if options.baseline else ""
    print(
        f"\n{'command':<18} {'wall':>6} {'over':>6} {'CPU':>6} {'over':>6} {'target':>6}  met  "
        f"{baseline}  heavy imports (s, cumulative)"
    )
    for label, args, target in COMMANDS:
        runs: list[list[tuple[float, float] | None]] = [[] for _ in trees]
        for _ in range(repeats):  # turn by turn, so both trees see the same load
            for n, (root, env, python) in enumerate(zip(trees, envs, pythons, strict=True)):
                runs[n].append(timed([python, "-c", ENTRY, *args], env, root))
        now, *before = (median_pair(r) for r in runs)
        if now is None:
            sys.exit(f"hpo-recommend {' '.join(args)} failed")
        wall, cpu = now
        met = "/".join("yes" if x < target else "NO" for x in (wall - bare[0], cpu - bare[1]))
        versus = ""
        if before:
            old = before[0]
            versus = (f" {'n/a':>10} {'':>9}" if old is None
                      else f" {old[1]:10.2f} {old[1] / cpu:8.1f}x")
        costs = import_costs(args, envs[0])
        loaded = ", ".join(f"{m} {s:.2f}" for m, s in costs.items()) or "none"
        print(
            f"{label:<18} {wall:6.2f} {wall - bare[0]:6.2f} {cpu:6.2f} {cpu - bare[1]:6.2f} "
            f"{target:6.1f}  {met:<5}{versus}  {loaded}"
        )
    print(f"\nload average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
