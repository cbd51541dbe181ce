"""Accuracy of SMiPE on the Ellis traces (../shared/data/ellis) under the paper's protocol.

For each file: every execution estimated at 3 sample iterations (15% padding) from
all other executions; parameters trained per execution on the others only
(``--training nested``, the default), or untrained (``none``). Prints the paper's
metric, the MRE of the *remaining* runtime, next to the history-mean baseline on the
same metric and their ratio, the 80 % interval's coverage, and the MRE of the total
runtime. Targets (issue 10): remaining-runtime MRE <= 0.10 (gbt) and <= 0.20
(logisticregression), below the history mean and at most 0.8 of it on average;
coverage 70-90 %.

Run: .venv/bin/python benchmarks/bench_progress_accuracy.py [--scale-out-model bell]
     [--training nested] [--n-jobs 2] [--plot-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from jobcast.evaluation.progress import (
    evaluate_progress,
    plot_progress_errors,
    read_ellis_trace,
)

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", nargs="*", default=["gbt.csv", "logisticregression.csv"])
    parser.add_argument("--scale-out-model", default="bell", choices=["bell", "ernest", "none"])
    parser.add_argument("--training", default="nested", choices=["nested", "none"])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--plot-dir", type=Path, default=None)
    args = parser.parse_args()
    ratios: list[float] = []
    for name in args.files:
        path = ELLIS / name
        if not path.exists():
            print(f"{path} is absent; the Ellis traces live in ../shared/data/ellis")
            continue
        t0 = time.perf_counter()
        result = evaluate_progress(
            read_ellis_trace(path),
            job=path.stem,
            training=args.training,
            scale_out_model=args.scale_out_model,
            n_jobs=args.n_jobs,
        )
        print(json.dumps(result.to_dict()))
        mean = result.baselines_remaining["history_mean"]
        ratios.append(result.mre_remaining / mean)
        print(
            f"{path.stem}: MRE(remaining) {result.mre_remaining:.4f}; history mean "
            f"{mean:.4f}; ratio {result.mre_remaining / mean:.2f}; 80 % interval coverage "
            f"{result.coverage:.3f}; MRE(total) {result.mre:.4f} (history mean "
            f"{result.baselines['history_mean']:.4f}); {args.scale_out_model}, training "
            f"{args.training}, {time.perf_counter() - t0:.0f} s"
        )
        if args.plot_dir is not None:
            args.plot_dir.mkdir(parents=True, exist_ok=True)
            plot_progress_errors(result, args.plot_dir / f"progress_{path.stem}.png")
    if ratios:
        print(f"mean ratio to the history mean: {sum(ratios) / len(ratios):.2f} (target <= 0.8)")


if __name__ == "__main__":
    main()
