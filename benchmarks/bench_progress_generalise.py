"""Progress estimation on several histories at once: jobcast against the history mean.

Runs ``evaluate progress`` (the paper's protocol, parameters trained nested: for each
execution on the other executions only) on each history and prints, per history, the
paper's metric (relative error of the remaining runtime) of jobcast and of the
history-mean baseline and their ratio, the same for the total runtime, and the 80 %
interval's coverage; then the average ratio. Issue 10's targets: every ratio below 1
and at most 0.8 on average; coverage 70-90 %.

A history is ``DB_URL::JOB`` (a jobcast history database, read only: nothing is
written to it) or ``ellis:NAME`` (``../shared/data/ellis/NAME.csv``). For example, the
local PySpark histories built with ``scripts/local_history.sh``:

    .venv/bin/python benchmarks/bench_progress_generalise.py \
        sqlite:////tmp/kp/history.db::kmeans sqlite:////tmp/kp/history.db::pagerank \
        sqlite:////tmp/cs/history.db::cc sqlite:////tmp/cs/history.db::sgd \
        ellis:gbt ellis:logisticregression [--json]

An Ellis history takes about 5 CPU-minutes, a local one of 16 runs 1-3.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from jobcast.evaluation.progress import evaluate_progress, read_ellis_trace

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"


def load(spec: str) -> tuple[str, pd.DataFrame, pd.DataFrame | None]:
    """The history named by ``spec``: its label, iteration frame and hardware samples."""
    if spec.startswith("ellis:"):
        name = spec.removeprefix("ellis:")
        return name, read_ellis_trace(ELLIS / f"{name}.csv"), None
    url, sep, job = spec.rpartition("::")
    if not sep:
        raise SystemExit(f"a history is DB_URL::JOB or ellis:NAME, got {spec!r}")
    from jobcast.app.progress import job_history
    from jobcast.cli.common import open_repo

    with open_repo(url) as repo:
        history, hardware = job_history(repo, job)
    return job, history, hardware


def row(spec: str, n_jobs: int | None) -> dict[str, Any]:
    """Nested evaluation of one history: both metrics, their ratios and the coverage."""
    label, history, hardware = load(spec)
    start = time.process_time()
    result = evaluate_progress(history, job=label, hardware=hardware, n_jobs=n_jobs)
    base = result.baselines_remaining["history_mean"]
    return {
        "history": spec,
        "job": label,
        "estimates": result.estimates,
        "remaining": result.mre_remaining,
        "history_mean_remaining": base,
        "ratio": result.mre_remaining / base,
        "total": result.mre,
        "history_mean_total": result.baselines["history_mean"],
        "coverage": result.coverage,
        "by_position": {p: v["mre_remaining"] for p, v in result.by_position().items()},
        "cpu_s": time.process_time() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("histories", nargs="+", help="DB_URL::JOB or ellis:NAME")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object per history")
    args = parser.parse_args()
    rows = []
    if not args.json:
        print(f"{'history':20s} {'jobcast':>8s} {'hist.mean':>9s} {'ratio':>6s} "
              f"{'total':>6s} {'(mean)':>6s} {'cover':>6s}  early/middle/late")
    for spec in args.histories:
        r = row(spec, args.n_jobs)
        rows.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
            continue
        pos = "/".join(f"{v:.3f}" for v in r["by_position"].values())
        print(f"{r['job']:20s} {r['remaining']:8.3f} {r['history_mean_remaining']:9.3f} "
              f"{r['ratio']:6.2f} {r['total']:6.3f} {r['history_mean_total']:6.3f} "
              f"{r['coverage']:6.1%}  {pos}", flush=True)
    if not args.json:
        mean = sum(r["ratio"] for r in rows) / len(rows)
        print(f"average ratio {mean:.3f} (target: every ratio < 1, average <= 0.8)")


if __name__ == "__main__":
    main()
