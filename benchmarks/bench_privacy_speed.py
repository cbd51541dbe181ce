"""Speed of DP synthesis, side by side with DataSynthesizer 0.1.13 in one run.

1. Describing and generating 1000 rows for each c3o-paper job, in-process (median of
   repeated runs after one warm-up run; the cold first run is printed too): jobcast's
   default method (perfmodel), jobcast's PrivBayes (k=2), DataSynthesizer's correlated
   attribute mode (k=2), all at ε = 1.
2. 100,000 rows x 20 columns, PrivBayes with k = 3 (describe + generate 100,000 rows).

Usage: .venv/bin/python benchmarks/bench_privacy_speed.py [--repeats 20] [--ds-repeats 3]
       [--skip-large] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from jobcast.evaluation.privacy import (
    C3O_PAPER_JOBS,
    DataSynthesizerBaseline,
    c3o_paper_domain,
    load_c3o_paper,
)
from jobcast.privacy import CategoricalDomain, Domain, NumericDomain, make_synthesizer


def _time(fn, repeats: int) -> tuple[float, float]:
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return cold, statistics.median(times)


def small_jobs(repeats: int, ds_repeats: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for job in C3O_PAPER_JOBS:
        frame = load_c3o_paper(job)
        dom = c3o_paper_domain(job)
        row: dict[str, float] = {}
        for method in ("perfmodel", "privbayes"):
            seeds = iter(range(10**6))

            def run(
                method: str = method,
                frame: pd.DataFrame = frame,
                dom: Domain = dom,
                seeds: Iterator[int] = seeds,
            ) -> None:
                s = make_synthesizer(method, domain=dom, epsilon=1.0, random_state=next(seeds))
                s.fit(frame).sample(1000)

            cold, med = _time(run, repeats)
            row[f"{method}_cold_s"] = cold
            row[f"{method}_s"] = med

        def run_ds(frame: pd.DataFrame = frame) -> None:
            DataSynthesizerBaseline(epsilon=1.0, k=2, random_state=0).fit(frame).sample(1000)

        _, row["datasynthesizer_s"] = _time(run_ds, ds_repeats)
        out[job] = row
    return out


def large_table(rows: int = 100_000, k: int = 3) -> dict[str, float]:
    """A 20-column table of configurations, sizes and runtimes (seeded), PrivBayes k=3."""
    rng = np.random.default_rng(0)
    cols: dict[str, np.ndarray] = {}
    doms: list[tuple[str, object]] = []
    m = rng.choice([2, 4, 8, 16, 32], rows)
    cols["instance_count"] = m
    doms.append(("instance_count", NumericDomain(values=(2, 4, 8, 16, 32), integer=True)))
    types = ["m5.xlarge", "m5.2xlarge", "c5.2xlarge", "r5.xlarge"]
    cols["machine_type"] = rng.choice(types, rows)
    doms.append(("machine_type", CategoricalDomain(tuple(types))))
    for i in range(8):  # job parameters on grids
        grid = tuple(float(v) for v in range(1, 3 + i % 5 + 1))
        cols[f"param{i}"] = rng.choice(grid, rows)
        doms.append((f"param{i}", NumericDomain(values=grid)))
    size = np.exp(rng.uniform(np.log(1e3), np.log(1e5), rows))
    for i in range(8):  # dataset characteristics, correlated with the size
        v = size * np.exp(rng.normal(0, 0.3, rows)) * (i + 1)
        cols[f"data{i}"] = np.clip(v, 100.0, 1e7)
        doms.append((f"data{i}", NumericDomain(lower=100.0, upper=1e7, log=True, bins=8)))
    rt = 30 + 0.01 * size / m * np.exp(rng.normal(0, 0.1, rows))
    cols["gross_runtime"] = np.clip(rt, 1.0, 1e5)
    doms.append(("gross_runtime", NumericDomain(lower=1.0, upper=1e5, log=True, bins=20)))
    cols["stages"] = rng.integers(1, 9, rows)
    doms.append(("stages", NumericDomain(values=tuple(range(1, 9)), integer=True)))
    frame = pd.DataFrame(cols)
    domain = Domain(tuple(doms))  # type: ignore[arg-type]
    assert frame.shape == (rows, 20)
    start = time.perf_counter()
    s = make_synthesizer("privbayes", domain=domain, epsilon=1.0, k=k, random_state=0).fit(frame)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    s.sample(rows)
    sample_s = time.perf_counter() - start
    return {"rows": rows, "columns": 20, "k": k, "fit_s": fit_s, "sample_s": sample_s,
            "total_s": fit_s + sample_s}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--ds-repeats", type=int, default=3)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")
    small = small_jobs(args.repeats, args.ds_repeats)
    large = None if args.skip_large else large_table()
    if args.json:
        print(json.dumps({"c3o_paper_1000_rows": small, "large": large}, indent=2))
        return
    print("describe + generate 1000 rows, epsilon = 1 (median seconds; cold = first call)")
    print(f"{'job':<18}{'perfmodel':>11}{'(cold)':>9}{'privbayes':>11}{'DataSynth':>11}"
          f"{'DS/perf':>9}{'DS/pb':>8}")
    for job, r in small.items():
        print(f"{job:<18}{r['perfmodel_s'] * 1e3:>9.1f}ms{r['perfmodel_cold_s'] * 1e3:>7.0f}ms"
              f"{r['privbayes_s'] * 1e3:>9.1f}ms{r['datasynthesizer_s']:>10.2f}s"
              f"{r['datasynthesizer_s'] / r['perfmodel_s']:>8.0f}x"
              f"{r['datasynthesizer_s'] / r['privbayes_s']:>7.0f}x")
    tot = {k: sum(r[k] for r in small.values()) for k in ("perfmodel_s", "privbayes_s",
                                                          "datasynthesizer_s")}
    print(f"{'all five':<18}{tot['perfmodel_s'] * 1e3:>9.1f}ms{'':>9}"
          f"{tot['privbayes_s'] * 1e3:>9.1f}ms{tot['datasynthesizer_s']:>10.2f}s"
          f"{tot['datasynthesizer_s'] / tot['perfmodel_s']:>8.0f}x"
          f"{tot['datasynthesizer_s'] / tot['privbayes_s']:>7.0f}x")
    if large is not None:
        print(f"PrivBayes k={large['k']} on {large['rows']:,} rows x {large['columns']} columns: "
              f"fit {large['fit_s']:.2f} s + sample {large['sample_s']:.2f} s = "
              f"{large['total_s']:.2f} s")


if __name__ == "__main__":
    main()
