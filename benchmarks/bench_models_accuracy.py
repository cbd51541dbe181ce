"""Accuracy of the runtime models on ../shared/data/c3o-paper with the privacy paper's protocols.

Usage: python benchmarks/bench_models_accuracy.py [--models auto,gbm,ernest] [--repeats 10]
       [--jobs grep,kmeans,...] [--protocol both|holdout|sizes] [--seed 0]

Prints the MAPE per job and the averages over the five jobs next to the paper's
figures (gradient boosting 0.038 and Ernest 0.229 on the holdout; best of Ernest
and gradient boosting per job 0.183 on training sets of 3..30 rows). Reads the
traces from ../shared (never copied into the project); kmeans and
linearregression drop instance_count <= 2 as in the paper.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jobcast.evaluation.models import DEFAULT_TRAIN_SIZES, evaluate_models

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "c3o-paper"
JOBS = ("grep", "kmeans", "linearregression", "pagerank", "sort")


def load(job: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(DATA / f"{job}.csv").rename(columns={"instance_count": "scale_out"})
    if job in ("kmeans", "linearregression"):
        frame = frame[frame["scale_out"] > 2].reset_index(drop=True)
    y = frame.pop("gross_runtime").to_numpy(dtype=float)
    return frame, y


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="auto")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--protocol", choices=["both", "holdout", "sizes"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    models = tuple(args.models.split(","))
    jobs = args.jobs.split(",")
    report: dict[str, dict[str, dict[str, float]]] = {"holdout": {}, "sizes": {}}
    for job in jobs:
        X, y = load(job)
        start = time.perf_counter()
        # evaluate_models is what `jobcast evaluate models` runs: same seed, same figures
        result = evaluate_models(
            X,
            y,
            job=job,
            models=models,
            repeats=args.repeats,
            holdout=args.protocol in ("both", "holdout"),
            train_sizes=None if args.protocol == "holdout" else DEFAULT_TRAIN_SIZES,
            random_state=args.seed,
        )
        seconds = time.perf_counter() - start
        ev, sv = result.holdout, result.training_sizes
        if ev is not None:
            report["holdout"][job] = {m: ev.mean(m) for m in models}
            figures = " ".join(f"{m}={ev.mean(m):.4f}" for m in models)
            print(f"holdout {job:17s} {figures}", flush=True)
        if sv is not None:
            report["sizes"][job] = {m: sv.mean(m) for m in models}
            figures = " ".join(f"{m}={sv.mean(m):.4f}" for m in models)
            per_size = " ".join(f"{s}:{sv.mean(models[0], s):.3f}" for s in sv.train_sizes)
            print(f"sizes   {job:17s} {figures}  [{models[0]} by size {per_size}]", flush=True)
        print(f"        {job:17s} ({seconds:.0f} s)", flush=True)
    for protocol, paper in (
        ("holdout", "paper: gbm 0.038, ernest 0.229"),
        ("sizes", "paper: best of ernest/gbm per job 0.183"),
    ):
        if report[protocol]:
            means = {
                m: float(np.mean([report[protocol][j][m] for j in report[protocol]]))
                for m in models
            }
            print(
                f"{protocol} average over {len(report[protocol])} jobs: "
                + " ".join(f"{m}={v:.4f}" for m, v in means.items())
                + f"  ({paper})"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
