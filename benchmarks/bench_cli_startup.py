"""Benchmark: start-up of ``jobcast --version`` and ``jobcast jobs`` against ``python -c pass``.

Target (issue 11): each command at most 25x a bare interpreter start on the same machine.
``jobcast -v jobs`` (any option typer must parse) takes the full path, typer and the
SQLAlchemy repository, and is printed as the reference the lean path of ``jobcast jobs``
competes with (no target).
Every command runs ``--runs`` times, interleaved round by round so that a busy moment
hits all of them alike; the medians of wall-clock and of CPU seconds and their ratios to
``python -c pass`` are printed side by side. ``jobcast jobs`` reads a small history (one
imported trace) in a temporary SQLite file, migrated before timing starts.

Run: .venv/bin/python benchmarks/bench_cli_startup.py [--runs 15]
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

TARGET_RATIO = 25.0
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "c3o-paper" / "sort.csv"


def _jobcast() -> list[str]:
    script = Path(sys.executable).with_name("jobcast")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jobcast.cli"]


def _time(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Time the commands and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs of every command.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'history.db'}"
        env = {**os.environ, "JOBCAST_DB": db}
        jobcast = _jobcast()
        if SHARED.exists():
            subprocess.run(
                [*jobcast, "import", "c3o", str(SHARED), "--job", "sort"],
                check=True,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        else:
            subprocess.run([*jobcast, "jobs"], check=True, stdout=subprocess.DEVNULL, env=env)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "jobcast --version": [*jobcast, "--version"],
            "jobcast jobs": [*jobcast, "jobs"],
            "jobcast -v jobs": [*jobcast, "-v", "jobs"],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(_time(command, env))
    base = [statistics.median(t[k] for t in times["python -c pass"]) for k in (0, 1)]
    print(
        f"{'command':<20} {'wall (s)':>9} {'ratio':>7} {'cpu (s)':>9} {'ratio':>7}"
        f"  target <= {TARGET_RATIO:g}x (medians of {args.runs} runs)"
    )
    for name, values in times.items():
        wall, cpu = (statistics.median(t[k] for t in values) for k in (0, 1))
        ratio = wall / base[0]
        verdict = (
            ""
            if name in ("python -c pass", "jobcast -v jobs")
            else ("ok" if ratio <= TARGET_RATIO else "SLOW")
        )
        print(
            f"{name:<20} {wall:>9.3f} {ratio:>6.1f}x {cpu:>9.3f} {cpu / base[1]:>6.1f}x  {verdict}"
        )
    print("A busy machine stretches the wall clock of the longer commands most; the CPU")
    print("columns show what each command itself costs.")


if __name__ == "__main__":
    main()
