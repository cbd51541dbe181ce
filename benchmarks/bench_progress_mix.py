"""SMiPE's nested estimates mixed with regressors on everything known at the sample.

Issue 10 asks for gbt's nested error of the remaining runtime (the SMiPE paper's metric)
at most 0.10. This measures whether a second family of estimators closes the gap: the
regressors of ``bench_progress_floor.py`` (ridge, k-NN, gradient boosting on the log
runtime of every finished iteration, the elapsed time and the first and current
scale-out, trained on the other runs at the same iteration; leave-one-out) predict the
whole remaining runtime, and each is mixed with SMiPE's nested estimate (``evaluate
progress``: parameters trained without the estimated run),
``(1 - w) SMiPE + w regressor``, with the weight ``w`` (grid of 0.05)

* ``hindsight``: the one best over every estimate, the scored ones included;
* ``chosen``: for each run, the one best over the *other* runs' estimates (what a
  method that learned ``w`` could reach; a gain that rests on a few runs vanishes here).

Run: .venv/bin/python benchmarks/bench_progress_mix.py [ellis:gbt ellis:logisticregression]
[--json]; about 5-10 CPU-minutes per history (the nested evaluation).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd
from bench_progress_floor import LEARNED, learned_predictions
from bench_progress_generalise import load

from jobcast.evaluation.progress import evaluate_progress

WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)


def mixes(
    smipe: np.ndarray, other: np.ndarray, actual: np.ndarray, groups: np.ndarray
) -> dict[str, float]:
    """MRE of the remaining runtime of the mix, ``w`` in hindsight and chosen on the other runs."""
    mixed = (1 - WEIGHTS[None, :]) * smipe[:, None] + WEIGHTS[None, :] * other[:, None]
    error = np.abs(mixed - actual[:, None]) / actual[:, None]
    best = int(np.argmin(error.mean(axis=0)))
    chosen = np.empty(len(actual))
    picked = []
    for g in np.unique(groups):
        own = groups == g
        w = int(np.argmin(error[~own].mean(axis=0)))
        chosen[own] = error[own, w]
        picked.append(WEIGHTS[w])
    return {
        "alone": float(error[:, -1].mean()),
        "hindsight": float(error[:, best].mean()),
        "hindsight_w": float(WEIGHTS[best]),
        "chosen": float(chosen.mean()),
        "chosen_w_median": float(np.median(picked)),
    }


def row(spec: str) -> dict[str, Any]:
    """Nested SMiPE and the mixes with each regressor on one history."""
    label, history, hardware = load(spec)
    result = evaluate_progress(history, job=label, hardware=hardware)
    frame = history.sort_values(["execution", "iteration"])
    groups = list(frame.groupby("execution", sort=True))
    runs = [g["duration_s"].to_numpy(dtype=np.float64) for _, g in groups]
    scale = [g["scale_out"].to_numpy(dtype=np.float64) for _, g in groups]
    ids = [e for e, _ in groups]
    learned = pd.DataFrame(learned_predictions(runs, scale, None))
    learned["execution"] = [ids[int(r)] for r in learned["run"]]
    learned["iteration"] = learned["iteration"].astype(np.int64)
    cases = result.cases.merge(learned, on=["execution", "iteration"], how="inner")
    actual = cases["actual_remaining_s"].to_numpy()
    smipe = cases["smipe_total_s"].to_numpy() - (cases["actual_total_s"].to_numpy() - actual)
    out: dict[str, Any] = {
        "history": spec,
        "estimates": int(len(cases)),
        "smipe": float(np.mean(np.abs(smipe - actual) / actual)),
    }
    for name in LEARNED:
        out[name] = mixes(smipe, cases[name].to_numpy(), actual, cases["execution"].to_numpy())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("histories", nargs="*", default=["ellis:gbt", "ellis:logisticregression"])
    ap.add_argument("--json", action="store_true", help="one JSON object per history")
    args = ap.parse_args()
    if not args.json:
        print("mean relative error of the remaining runtime (the SMiPE paper's metric)")
        print(f"{'history':28s} {'SMiPE':>6s} {'regressor':>9s} {'alone':>6s} "
              f"{'hindsight (w)':>14s} {'chosen (median w)':>18s}")
    for spec in args.histories:
        r = row(spec)
        if args.json:
            print(json.dumps(r), flush=True)
            continue
        for name in LEARNED:
            m = r[name]
            print(f"{spec:28s} {r['smipe']:6.4f} {name:>9s} {m['alone']:6.4f} "
                  f"{m['hindsight']:7.4f} ({m['hindsight_w']:.2f}) "
                  f"{m['chosen']:10.4f} ({m['chosen_w_median']:.2f})", flush=True)


if __name__ == "__main__":
    main()
