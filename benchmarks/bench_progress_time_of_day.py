"""Does the time of day a run started carry what SMiPE misses on the Ellis traces?

On gbt, the last two iterations (a third of the runtime, most of what remains at every
sample point) are shorter at night: the runs started between midnight and 06:30 take
306 s for them on average, the others 346 s (Spearman rho of the start hour with the
log sum of the last two 0.46; logisticregression shows no such effect). This measures
whether matching on it brings gbt's nested error of the remaining runtime (the SMiPE
paper's metric, issue 10's target 0.10) down. Each variant adds one context attribute
per execution, taken from its start time in the trace, and runs the nested protocol of
``jobcast evaluate progress`` (``evaluate_progress(..., training="nested")``):

* ``none``: the trace as it is (no attribute);
* ``hour``: the start hour (0-24, plus 1 so that the context measure compares it as a
  positive number);
* ``noon``: the hours since noon (so that the night is not split at midnight);
* ``night``: ``night`` / ``day`` by a start before 06:30, a split **chosen in hindsight**
  on the data it is scored on (an upper bound on what a time-of-day attribute can give,
  not a method).

The context measure weighs an attribute by how far it orders the runs' iteration count,
total or typical iteration runtime beyond chance (``jobcast.progress.context``), learned
in each nested training.

Run: .venv/bin/python benchmarks/bench_progress_time_of_day.py [--traces gbt ...]
[--variants none hour ...]; about 10 CPU-minutes per trace and variant.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from jobcast.evaluation.progress import evaluate_progress, read_ellis_trace

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"
VARIANTS = ("none", "hour", "noon", "night")
NIGHT_ENDS = 6.5  # hours after midnight; chosen in hindsight (see the module docstring)


def with_time_of_day(path: Path, variant: str) -> pd.DataFrame:
    """The trace's iteration frame with the variant's start-time attribute per execution."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    history = read_ellis_trace(path)
    if variant == "none":
        return history
    raw = pd.read_csv(path, sep="|", usecols=["ID", "STARTED_AT"])
    start = pd.to_datetime(raw.groupby("ID")["STARTED_AT"].first())
    hour = start.dt.hour + start.dt.minute / 60.0
    execution = history["execution"]
    if variant == "hour":
        history["start_hour"] = execution.map(hour + 1.0).astype(float)
    elif variant == "noon":
        history["hours_since_noon"] = execution.map((hour - 12.0) % 24.0 + 1.0).astype(float)
    else:
        history["period"] = execution.map(hour < NIGHT_ENDS).map({True: "night", False: "day"})
    return history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", nargs="+", default=["gbt", "logisticregression"])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = ap.parse_args()
    missing = [t for t in args.traces if not (ELLIS / f"{t}.csv").exists()]
    if missing:
        ap.error(f"no trace {missing} in {ELLIS}; the traces there: "
                 f"{sorted(p.stem for p in ELLIS.glob('*.csv'))}")
    print("nested MRE of the remaining runtime (the SMiPE paper's metric), "
          "overall and early / middle / late")
    for trace in args.traces:
        path = ELLIS / f"{trace}.csv"
        for variant in args.variants:
            started = time.perf_counter()
            result = evaluate_progress(
                with_time_of_day(path, variant), job=trace, training="nested"
            )
            parts = " / ".join(
                f"{part['mre_remaining']:.4f}" for part in result.by_position().values()
            )
            print(f"{trace:20s} {variant:6s} {result.mre_remaining:.4f}  ({parts})  "
                  f"{time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
