"""Benchmark: one SMiPE estimate against a fitted history of 1,000 executions x 100 iterations.

Target (issue 4): <= 10 ms per estimate in-process. Prints the fit time, the median
and 95th-percentile estimate times at early, middle and late iterations, and the
ratio to the target; next to it the time of the history-mean baseline on the same
arrays as a floor of what any estimate costs.

Run: .venv/bin/python benchmarks/bench_progress_estimate.py [--executions 1000] [--iterations 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from jobcast.progress import ProgressEstimator, ProgressParameters

TARGET_MS = 10.0


def synthetic_history(n_exec: int, n_iter: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    scale_choices = np.array([4, 6, 8, 12, 16, 24, 32])
    profile = 5.0 + 3.0 * np.sin(np.arange(n_iter))
    speed = rng.choice([0.7, 1.0, 1.5], size=n_exec)
    scale = np.repeat(rng.choice(scale_choices, size=n_exec)[:, None], n_iter, axis=1)
    switch = rng.integers(1, n_iter, size=n_exec)
    rescaled = rng.random(n_exec) < 0.5
    new_scale = rng.choice(scale_choices, size=n_exec)
    cols = np.arange(n_iter)[None, :]
    scale = np.where(rescaled[:, None] & (cols >= switch[:, None]), new_scale[:, None], scale)
    runtime = profile[None, :] * (1 + 20 / scale) * speed[:, None]
    runtime = runtime * rng.lognormal(0, 0.05, size=runtime.shape)
    return pd.DataFrame(
        {
            "execution": np.repeat(np.arange(n_exec), n_iter),
            "iteration": np.tile(np.arange(n_iter), n_exec),
            "duration_s": runtime.ravel(),
            "scale_out": scale.ravel(),
            "records": np.tile(1e6 * np.exp(-0.05 * np.arange(n_iter)), n_exec),
            "input_size": np.repeat(rng.choice([1e3, 2e3, 4e3], size=n_exec), n_iter),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--scale-out-model", default="bell", choices=["bell", "ernest", "none"])
    args = parser.parse_args()

    history = synthetic_history(args.executions, args.iterations)
    current_all = synthetic_history(1, args.iterations, seed=42).assign(execution="current")
    params = ProgressParameters(
        thresholds=(0.5, 0.5, 0.0, 0.5, 0.3), final_threshold=0.6, exponent=8.0
    )
    t0 = time.perf_counter()
    est = ProgressEstimator(params, scale_out_model=args.scale_out_model).fit(history)
    fit_s = time.perf_counter() - t0
    print(
        f"history: {args.executions} executions x {args.iterations} iterations; "
        f"fit ({args.scale_out_model}) {fit_s:.2f} s"
    )
    runtime = est.prepared_.arrays.runtime
    for frac in (0.15, 0.5, 0.85):
        i = max(1, int(frac * args.iterations))
        current = current_all[current_all["iteration"] < i]
        est.estimate(current)  # warm-up
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            est.estimate(current)
            times.append((time.perf_counter() - t) * 1000)
        base = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            float(np.nansum(runtime[:, i:], axis=1).mean())
            base.append((time.perf_counter() - t) * 1000)
        med = statistics.median(times)
        p95 = float(np.percentile(times, 95))
        print(
            f"iteration {i:4d}: estimate median {med:6.2f} ms, p95 {p95:6.2f} ms; "
            f"target {TARGET_MS:.0f} ms -> ratio {med / TARGET_MS:.2f}; "
            f"history-mean baseline {statistics.median(base):.2f} ms "
            f"(SMiPE / baseline {med / max(statistics.median(base), 1e-6):.1f}x)"
        )


if __name__ == "__main__":
    main()
