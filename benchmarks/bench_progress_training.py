"""Benchmark: `train progress` and the ETA service's fit on 1,000 executions x 10 iterations.

The service refits a job's progress model in the background whenever its finished runs
change, so both must take seconds. Prints the CPU and wall-clock time of

* ``train``: :func:`jobcast.progress.training.train_history` with its defaults (at most
  ``MAX_TRAINING_EXECUTIONS`` executions simulated, spread over the history), and its
  leave-one-out error of the remaining runtime;
* ``eta fit``: :class:`jobcast.progress.eta.WallClockEstimator` ``.fit`` (estimator,
  wall-clock structure and the interval's calibration) with the trained parameters;
* with ``--reference``, side by side: training on every execution (``max_executions=None``,
  what training did before), and its error on the same simulations of the subset.

CPU time is the figure to compare on a shared machine; the load average is printed.

Run: .venv/bin/python benchmarks/bench_progress_training.py [--executions 1000]
     [--iterations 10] [--reference]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from bench_progress_estimate import synthetic_history

from jobcast.progress.eta import WallClockEstimator
from jobcast.progress.training import train_history


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``fn()`` with its CPU and wall-clock seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def executions_frame(history: pd.DataFrame) -> pd.DataFrame:
    """Start and end of every run: its iterations back to back from a common origin."""
    gross = history.groupby("execution", sort=False)["duration_s"].sum()
    start = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        range(0, 3600 * len(gross), 3600), unit="s"
    )
    return pd.DataFrame(
        {
            "execution_id": gross.index,
            "external_id": gross.index.astype(str),
            "started_at": start,
            "finished_at": start + pd.to_timedelta(gross.to_numpy() * 1.05, unit="s"),
            "gross_runtime": gross.to_numpy() * 1.05,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args()
    history = synthetic_history(args.executions, args.iterations)
    history["execution"] = history["execution"].astype(str)
    print(f"history: {args.executions} executions x {args.iterations} iterations; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    report, cpu, wall = timed(lambda: train_history(history, random_state=0))
    print(f"train (default)        cpu {cpu:7.1f} s  wall {wall:7.1f} s  "
          f"LOO MRE remaining {report.error_after:.4f} (defaults {report.error_before:.4f})")
    model = WallClockEstimator(report.params, scale_out_model="bell")
    _, cpu_fit, wall_fit = timed(lambda: model.fit(history, executions_frame(history)))
    print(f"eta fit                cpu {cpu_fit:7.1f} s  wall {wall_fit:7.1f} s  "
          f"({model.calibration_.n_scores} calibration scores)")
    if args.reference:
        full, ref_cpu, ref_wall = timed(
            lambda: train_history(history, random_state=0, max_executions=None)
        )
        print(f"train (every execution) cpu {ref_cpu:6.1f} s  wall {ref_wall:7.1f} s  "
              f"LOO MRE remaining {full.error_after:.4f}; default / every: cpu "
              f"{cpu / ref_cpu:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
