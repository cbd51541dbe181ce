"""Run the privacy paper's experiments (jobcast.evaluation.privacy) and print the summary.

Usage: .venv/bin/python benchmarks/privacy_evaluate.py [--experiments train_sizes,time,risk]
       [--sizes 1000] [--repeats 3] [--methods perfmodel,privbayes,datasynthesizer]
       [--worst N] [--json OUT.json] [--plot OUT.png]

``--worst N`` lists the N shares with the largest MAPE (job, ε, repeat: the split is
``seed + repeat``, the synthesizer's seed ``seed * 1000 + repeat``) to reproduce them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings

import numpy as np

from jobcast.evaluation.privacy import C3O_PAPER_JOBS, EPSILONS, evaluate_privacy, plot_utility

#: The issue's bound on a single share's MAPE (the tail the summary counts).
TAIL = 0.5


def _eps_label(epsilon: float | None) -> str:
    return "no-dp" if epsilon is None else f"{epsilon:g}"


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def per_job(utility: list[dict], errors: list[dict]) -> list[str]:
    """Mean, median and worst MAPE per job and ε (train_sizes, largest size), refusals."""
    rows: dict[tuple[str, str, str, str], list[float]] = {}
    sizes = [r["synthetic_rows"] for r in utility if r["experiment"] == "train_sizes"]
    for r in utility:
        if r["experiment"] != "train_sizes" or r["synthetic_rows"] != max(sizes):
            continue
        eps = _eps_label(r.get("epsilon"))
        rows.setdefault((r["method"], r["model"], eps, r["job"]), []).append(r["mape"])
    refused: dict[tuple[str, str, str], int] = {}
    for e in errors:
        eps = _eps_label(e.get("epsilon"))
        key = (e.get("method", ""), eps, e.get("job", ""))
        refused[key] = refused.get(key, 0) + 1
    out = [
        "per job (method, model, epsilon, job: mean / median / worst MAPE, n, shares with "
        f"MAPE > {TAIL:g}, refused)"
    ]
    tails: dict[tuple[str, str, str], list[int]] = {}
    for (method, model, eps, job), v in sorted(rows.items()):
        a = np.asarray(v)
        over = int((a > TAIL).sum())
        tail = tails.setdefault((method, model, eps), [0, 0])
        tail[0] += over
        tail[1] += a.size
        out.append(
            f"{method} {model} {eps} {job}: {a.mean():.3f} / {np.median(a):.3f} / "
            f"{a.max():.3f}, n={a.size}, >{TAIL:g}: {over}, "
            f"refused={refused.get((method, eps, job), 0)}"
        )
    released = {(method, eps, job) for method, _, eps, job in rows}
    for (method, eps, job), k in sorted(refused.items()):
        if (method, eps, job) not in released:  # a job refused in every repeat
            out.append(f"{method} {eps} {job}: nothing released, refused={k}")
    for (method, model, eps), (over, n) in sorted(tails.items()):
        out.append(
            f"{method} {model} {eps}, all jobs: {over} of {n} released shares above {TAIL:g} "
            f"({over / max(n, 1):.1%})"
        )
    return out


def grouped_errors(errors: list[dict]) -> list[str]:
    """Failed or refused runs, one line per job, method, ε and message (``--json`` has each)."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for e in errors:
        eps = _eps_label(e.get("epsilon"))
        key = (e.get("job", ""), e.get("method", ""), eps, str(e.get("error", ""))[:150])
        counts[key] = counts.get(key, 0) + 1
    out = ["refused or failed (job, method, epsilon: count x message)"] if counts else []
    for (job, method, eps, msg), k in sorted(counts.items()):
        out.append(f"{job} {method} {eps}: {k} x {msg}")
    return out


def worst_shares(utility: list[dict], n: int) -> list[str]:
    """The ``n`` train_sizes shares (largest size) with the largest MAPE, worst first."""
    sizes = [r["synthetic_rows"] for r in utility if r["experiment"] == "train_sizes"]
    recs = [
        r for r in utility
        if r["experiment"] == "train_sizes" and r["synthetic_rows"] == max(sizes, default=0)
    ]
    recs.sort(key=lambda r: -r["mape"])
    out = [f"worst {n} shares (method, model, epsilon, job, repeat: MAPE)"]
    for r in recs[:n]:
        eps = _eps_label(r.get("epsilon"))
        out.append(
            f"{r['method']} {r['model']} {eps} {r['job']} repeat={r['repeat']}: {r['mape']:.3f}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", default=",".join(C3O_PAPER_JOBS))
    ap.add_argument("--methods", default="perfmodel,privbayes,datasynthesizer")
    ap.add_argument("--epsilons", default=",".join(f"{e:g}" for e in EPSILONS))
    ap.add_argument("--experiments", default="train_sizes,time,risk")
    ap.add_argument("--domains", default="bounds", choices=("bounds", "grid", "none"))
    ap.add_argument("--data-dir", default=None, help="folder of JOB.csv (default c3o-paper)")
    ap.add_argument("--domain", default=None, help="domain file of jobs without built-in ones")
    ap.add_argument("--models", default="gbm,ernest")
    ap.add_argument("--sizes", default="1000")
    ap.add_argument("--originals", default="3,6,9,12,15,18,21,24,27,30")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timing-repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--worst", type=int, default=0, help="list the N worst shares")
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")

    def progress(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)

    ev = evaluate_privacy(
        tuple(args.jobs.split(",")),
        methods=tuple(args.methods.split(",")),
        epsilons=tuple(float(e) for e in args.epsilons.split(",")),
        models=tuple(args.models.split(",")),
        experiments=tuple(args.experiments.split(",")),
        domains=args.domains,
        sizes=_ints(args.sizes),
        originals=_ints(args.originals),
        repeats=args.repeats,
        timing_repeats=args.timing_repeats,
        data_dir=args.data_dir,
        domain_file=args.domain,
        seed=args.seed,
        callback=progress,
    )
    print(file=sys.stderr)
    d = ev.to_dict()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(d, f, indent=1)
    if args.plot:
        plot_utility(ev, args.plot)
    print(json.dumps({k: d[k] for k in ("summary", "speed_seconds")}, indent=1))
    for line in grouped_errors(d["errors"]):
        print(line)
    for line in per_job(d["utility"], d["errors"]):
        print(line)
    if args.worst > 0:
        for line in worst_shares(d["utility"], args.worst):
            print(line)
    if d["secrets"]:
        print("secrets (job, method, domains, column, inference risk, median error)")
        for r in d["secrets"]:
            print(r["job"], r["method"], r["domains"], r["column"], round(r["inference"], 3),
                  round(r["median_error"], 3))
    if d["risk"]:
        print("risk (job, method, epsilon, singling_out, linkability, inference, "
              "dcr_syn_median, dcr_holdout_median, closer_than_holdout)")
        for r in d["risk"]:
            print(r["job"], r["method"], r["epsilon"], *(round(r[k], 3) for k in (
                "singling_out", "linkability", "inference", "dcr_synthetic_median",
                "dcr_holdout_median", "closer_than_holdout")))


if __name__ == "__main__":
    main()
