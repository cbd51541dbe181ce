"""Progress estimation on several histories at once: jobcast against the history mean.

Runs ``evaluate progress`` (the paper's protocol, parameters trained nested: for each
execution on the other executions only) on each history and prints, per history, the
paper's metric (relative error of the remaining runtime) of jobcast and of the
history-mean baseline and their ratio, the same for the total runtime, and the 80 %
interval's coverage; then the average ratio. Issue 10's targets: every ratio below 1
and at most 0.8 on average; coverage 70-90 %.

A history is ``DB_URL::JOB`` (a jobcast history database, read only: nothing is
written to it), ``ellis:NAME`` (``../shared/data/ellis/NAME.csv``) or
``synthetic:random,SEED`` / ``synthetic:records,SEED`` (16 runs of 8-40 iterations, lengths
drawn at random; ``records`` adds a record count whose decay announces the length) or
``synthetic:capped,SEED`` (16 runs whose ``cap`` attribute, 6-12, sets their length, a
``size`` attribute their pace; 15 % stop before the cap). For example, the
local PySpark histories built with ``scripts/local_history.sh``:

    .venv/bin/python benchmarks/bench_progress_generalise.py \
        sqlite:////tmp/kp/history.db::kmeans sqlite:////tmp/kp/history.db::pagerank \
        sqlite:////tmp/cs/history.db::cc sqlite:////tmp/cs/history.db::sgd \
        ellis:gbt ellis:logisticregression [--json]

An Ellis history takes about 5 CPU-minutes, a local one of 16 runs 1-3.

``--runs N --subsets K`` evaluates, instead of each whole history, K random subsets of
N of its runs (seeds 0 .. K-1; few runs: ``--runs 5 --subsets 6``), one line each, and
their mean ratio per history.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.evaluation.progress import evaluate_progress, read_ellis_trace

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"


def random_lengths(seed: int, records: bool = False, n_runs: int = 16) -> pd.DataFrame:
    """Runs of 8-40 iterations, lengths at random; ``records`` decay by the length."""
    rng = np.random.default_rng(seed)
    frames = []
    for e in range(n_runs):
        length = int(rng.integers(8, 41))
        speed = rng.lognormal(0.0, 0.1)
        j = np.arange(length)
        frame = pd.DataFrame({
            "execution": f"run-{e}", "iteration": j, "scale_out": 4,
            "duration_s": (3.0 + 2.0 * np.exp(-j / 3)) * speed * rng.lognormal(0, 0.05, length),
        })
        if records:
            frame["records"] = 1e6 * np.exp(-4.0 * j / length)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def capped(seed: int, n_runs: int = 16, stop_share: float = 0.15) -> pd.DataFrame:
    """Runs whose ``cap`` attribute sets their length and ``size`` their pace.

    An iteration takes about ``size`` seconds (the first, which reads the input, three
    times as long); a share ``stop_share`` of the runs stops before its cap (converged); a
    data seed is noise. Caps and sizes cycle independently, so matching on the context
    alone finds few runs alike in both.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for e in range(n_runs):
        cap, size = (6, 8, 10, 12)[e % 4], (1.0, 2.0, 3.0)[e % 3]
        length = cap if rng.random() >= stop_share else int(rng.integers(3, cap))
        duration = size * rng.lognormal(0.0, 0.1) * rng.lognormal(0.0, 0.05, length)
        duration[0] *= 3.0
        frames.append(pd.DataFrame({
            "execution": f"run-{e}", "iteration": np.arange(length), "scale_out": 4,
            "duration_s": duration, "cap": float(cap), "size": size,
            "data_seed": float(rng.integers(100)),
        }))
    return pd.concat(frames, ignore_index=True)


def load(spec: str) -> tuple[str, pd.DataFrame, pd.DataFrame | None]:
    """The history named by ``spec``: its label, iteration frame and hardware samples."""
    if spec.startswith("synthetic:"):
        kind, _, seed = spec.removeprefix("synthetic:").partition(",")
        if kind not in ("random", "records", "capped") or not seed.isdigit():
            raise SystemExit(
                "synthetic:random,SEED, synthetic:records,SEED or synthetic:capped,SEED, "
                f"got {spec!r}"
            )
        if kind == "capped":
            return spec, capped(int(seed)), None
        return spec, random_lengths(int(seed), records=kind == "records"), None
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


def subset(history: pd.DataFrame, runs: int, seed: int) -> pd.DataFrame:
    """``runs`` of the history's executions drawn at random (seeded), all their rows."""
    ids = np.sort(history["execution"].unique())
    if runs > len(ids):
        raise SystemExit(f"--runs {runs}: the history has only {len(ids)} runs")
    pick = np.random.default_rng(seed).choice(ids, runs, replace=False)
    return history[history["execution"].isin(pick)]


def row(
    spec: str, n_jobs: int | None, runs: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Nested evaluation of a history (or of some of its runs): both metrics, ratios, coverage."""
    label, history, hardware = load(spec)
    if runs is not None:
        history = subset(history, runs, seed)
        spec, label = f"{spec}[{runs} runs, seed {seed}]", f"{label}[{runs}/{seed}]"
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
    parser.add_argument("histories", nargs="+",
                        help="DB_URL::JOB, ellis:NAME or synthetic:random|records,SEED")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object per history")
    parser.add_argument("--runs", type=int, default=None, help="evaluate subsets of N runs")
    parser.add_argument("--subsets", type=int, default=3, help="subsets per history (--runs)")
    args = parser.parse_args()
    draws = [(None, 0)] if args.runs is None else [(args.runs, k) for k in range(args.subsets)]
    rows = []
    if not args.json:
        print(f"{'history':28s} {'jobcast':>8s} {'hist.mean':>9s} {'ratio':>6s} "
              f"{'total':>6s} {'(mean)':>6s} {'cover':>6s}  early/middle/late")
    for spec, (runs, seed) in ((h, d) for h in args.histories for d in draws):
        r = row(spec, args.n_jobs, runs, seed)
        rows.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
            continue
        pos = "/".join(f"{v:.3f}" for v in r["by_position"].values())
        print(f"{r['job']:28s} {r['remaining']:8.3f} {r['history_mean_remaining']:9.3f} "
              f"{r['ratio']:6.2f} {r['total']:6.3f} {r['history_mean_total']:6.3f} "
              f"{r['coverage']:6.1%}  {pos}", flush=True)
    if not args.json and args.runs is not None:
        for spec in args.histories:
            mine = [r["ratio"] for r in rows if r["history"].startswith(f"{spec}[")]
            print(f"{spec}: mean ratio of {len(mine)} subsets of {args.runs} runs "
                  f"{sum(mine) / len(mine):.3f}")
    if not args.json:
        mean = sum(r["ratio"] for r in rows) / len(rows)
        print(f"average ratio {mean:.3f} (target: every ratio < 1, average <= 0.8)")


if __name__ == "__main__":
    main()
