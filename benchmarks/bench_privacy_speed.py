"""Speed of DP synthesis, side by side with DataSynthesizer 0.1.13 in one run.

1. Whole processes on a 2000 x 12 C3O-like table (generated from a seed): the default
   ``jobcast share`` (ε = 1, 2000 rows, the declaration a user writes: public grids,
   sizes as coarse ranges, the machine facts of slots and memory) against a Python
   process running DataSynthesizer's correlated attribute mode (k = 3, ε = 1) on the same
   table as a CSV file (describe, generate 2000 rows, write them). Wall time and CPU time
   (user + system of the child) of each process, the median of ``--repeats`` runs, and
   their ratio. The history is prepared before the clock starts.
2. 100,000 rows x 20 columns, jobcast's default method alone: describe + generate
   100,000 rows in-process (the earlier target: <= 5 s).
3. With ``--per-job``: describe + generate 1000 rows for each c3o-paper job in-process
   (median after one warm-up run): perfmodel, PrivBayes (k = 2), DataSynthesizer (k = 2).

Usage: .venv/bin/python benchmarks/bench_privacy_speed.py [--repeats 3] [--ds-repeats 1]
       [--skip-large] [--per-job] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import JobcastError
from jobcast.privacy import DEFAULT_METHOD, Domain, make_synthesizer
from jobcast.privacy.consistency import split_declaration

#: machine type -> (slots, memory in MB) of one machine: a public catalogue
MACHINES = {"c4.2xlarge": (8, 15000), "m4.2xlarge": (8, 32000), "r4.2xlarge": (8, 61000)}
SCALE_OUTS = (2, 4, 6, 8, 10, 12)

# DataSynthesizer's own save_dataset_description_to_file fails on a text column (a numpy
# bool in the description); the same json.dump, with numpy scalars turned into Python's
_DATASYNTHESIZER = """
import contextlib, io, json, random, sys
import numpy as np
from DataSynthesizer.DataDescriber import DataDescriber
from DataSynthesizer.DataGenerator import DataGenerator
src, desc, out, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
random.seed(0)
np.random.seed(0)
with contextlib.redirect_stdout(io.StringIO()):
    d = DataDescriber(category_threshold=20)
    d.describe_dataset_in_correlated_attribute_mode(dataset_file=src, epsilon=1.0, k=3)
    with open(desc, "w") as f:
        json.dump(d.data_description, f, indent=4, default=lambda o: o.item())
    g = DataGenerator()
    g.generate_dataset_in_correlated_attribute_mode(rows, desc, seed=0)
    g.save_synthetic_data(out)
"""


def c3o_like_table(rows: int, columns: int, seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A seeded table of Spark executions like the C3O traces, and its declaration.

    The first 12 columns are those of the C3O traces (configuration, cluster totals,
    dataset sizes, job parameters, runtime); up to 8 more are further parameters and
    dataset characteristics. Returns the frame and the domain file's JSON object.
    """
    if not 12 <= columns <= 20:
        raise ValueError(f"columns must be 12 to 20, got {columns}")
    rng = np.random.default_rng(seed)
    m = rng.choice(SCALE_OUTS, rows)
    mt = rng.choice(sorted(MACHINES), rows)
    slots = np.array([MACHINES[t][0] for t in mt]) * m
    memory = np.array([MACHINES[t][1] for t in mt]) * m
    size = np.exp(rng.uniform(np.log(2e3), np.log(6e4), rows)).round()
    line_length = rng.choice([100, 500, 1000], rows)
    lines = (size * 1e6 / line_length).round()
    p = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], rows)
    features = rng.choice([5, 10, 50], rows)
    observations = (size * 1e6 / (8 * features)).round()
    k = rng.choice([3, 5, 7, 9], rows)
    speed = np.array([{"c4.2xlarge": 1.0, "m4.2xlarge": 0.9, "r4.2xlarge": 0.85}[t] for t in mt])
    runtime = (40 + 0.02 * size / m * speed * (1 + 0.1 * k) * (1 + 0.3 * p)) * np.exp(
        rng.normal(0, 0.05, rows)
    )
    cols: dict[str, Any] = {
        "instance_count": m, "machine_type": mt, "slots": slots, "memory": memory,
        "data_size_MB": size, "line_length": line_length, "lines": lines, "p_occurrence": p,
        "features": features, "observations": observations, "k": k,
    }  # fmt: skip
    decl: dict[str, Any] = {
        "instance_count": {"type": "numeric", "values": list(SCALE_OUTS), "integer": True},
        "machine_type": {"type": "categorical", "values": sorted(MACHINES)},
        "slots": {"type": "numeric", "lower": 1, "upper": 1024, "log": True},
        "memory": {"type": "numeric", "lower": 1000, "upper": 1e7, "log": True},
        "data_size_MB": {"type": "numeric", "lower": 100, "upper": 1e6, "log": True},
        "line_length": {"type": "numeric", "values": [100, 500, 1000], "integer": True},
        "lines": {"type": "numeric", "lower": 1e5, "upper": 1e13, "log": True},
        "p_occurrence": {"type": "numeric", "values": [0.0, 0.25, 0.5, 0.75, 1.0]},
        "features": {"type": "numeric", "values": [5, 10, 50], "integer": True},
        "observations": {"type": "numeric", "lower": 1e5, "upper": 1e13, "log": True},
        "k": {"type": "numeric", "values": [3, 5, 7, 9], "integer": True},
    }
    for i in range(columns - 12):  # further parameters and dataset characteristics
        if i % 2 == 0:
            grid = list(range(1, 4 + i))
            cols[f"param{i}"] = rng.choice(grid, rows)
            decl[f"param{i}"] = {"type": "numeric", "values": grid, "integer": True}
        else:
            cols[f"data{i}"] = (size * np.exp(rng.normal(0, 0.3, rows)) * (i + 1)).round(1)
            decl[f"data{i}"] = {"type": "numeric", "lower": 10, "upper": 1e8, "log": True}
    cols["gross_runtime"] = runtime.round(1)
    decl["gross_runtime"] = {"type": "numeric", "lower": 10, "upper": 14400, "log": True}
    machines = {
        "totals": ["slots", "memory"],
        "types": {t: {"slots": s, "memory": mem} for t, (s, mem) in MACHINES.items()},
    }
    frame = pd.DataFrame(cols)
    assert frame.shape == (rows, columns)
    return frame, {"columns": decl, "machines": machines}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (which must succeed)."""
    cpu0, t0 = _child_cpu(), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed:\n{done.stderr[-2000:]}")
    return wall, cpu


def _median_runs(make_cmd: Callable[[int], list[str]], repeats: int,
                 env: dict[str, str]) -> dict[str, float]:  # fmt: skip
    runs = [_run(make_cmd(i), env) for i in range(repeats)]
    return {
        "wall_s": statistics.median(w for w, _ in runs),
        "cpu_s": statistics.median(c for _, c in runs),
        "runs": len(runs),
    }


def processes(rows: int, repeats: int, ds_repeats: int) -> dict[str, Any]:
    """``jobcast share`` and DataSynthesizer as whole processes on one 2000 x 12 table."""
    from jobcast.app.imports import import_c3o
    from jobcast.history import HistoryRepository

    frame, decl = c3o_like_table(rows, 12, seed=0)
    work = Path(tempfile.mkdtemp(prefix="jobcast-bench-"))
    try:
        table = work / "table.tsv"
        frame.to_csv(table, sep="\t", index=False)
        frame.to_csv(work / "table.csv", index=False)
        (work / "domain.json").write_text(json.dumps(decl))
        url = f"sqlite:///{work / 'history.db'}"
        repo = HistoryRepository(url)
        import_c3o(repo, [table], job="bench")
        repo.set_privacy_budget("bench", 1000.0, confirm_raise=True)
        repo.close()
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        jobcast = str(Path(sys.executable).with_name("jobcast"))
        out: dict[str, Any] = {"rows": rows, "columns": 12}
        try:
            out["jobcast_share"] = _median_runs(
                lambda i: [jobcast, "share", "--job", "bench", "--epsilon", "1", "--rows",
                           str(rows), "--out", str(work / f"share{i}"), "--domain",
                           str(work / "domain.json"), "--db", url, "--json"],  # fmt: skip
                repeats,
                env,
            )
            manifest = json.loads((work / "share0" / "manifest.json").read_text())
            out["jobcast_method"] = manifest["method"]
        except RuntimeError as e:
            out["jobcast_refused"] = str(e)
        ds = out["datasynthesizer_k3"] = _median_runs(
            lambda i: [sys.executable, "-c", _DATASYNTHESIZER, str(work / "table.csv"),
                       str(work / f"ds{i}.json"), str(work / f"ds{i}.csv"), str(rows)],  # fmt: skip
            ds_repeats,
            env,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "jobcast_share" in out:
        out["ratio_wall"] = ds["wall_s"] / out["jobcast_share"]["wall_s"]
        out["ratio_cpu"] = ds["cpu_s"] / out["jobcast_share"]["cpu_s"]
    return out


def large_table(rows: int = 100_000, columns: int = 20) -> dict[str, Any]:
    """jobcast's default method alone: describe + generate ``rows`` rows of 20 columns."""
    frame, decl = c3o_like_table(rows, columns, seed=1)
    rest, facts = split_declaration(decl)
    domain = Domain.from_dict(rest)
    if facts is None:
        raise ValueError("the declaration has no machine facts")
    bound = facts.bind(machine_type="machine_type", scale_out="instance_count")
    synth_domain = bound.synthesis_domain(domain)
    synth_frame = frame[list(synth_domain.names)]
    out: dict[str, Any] = {"rows": rows, "columns": columns, "method": DEFAULT_METHOD}
    cpu0, start = time.process_time(), time.perf_counter()
    try:
        s = make_synthesizer(DEFAULT_METHOD, domain=synth_domain, epsilon=1.0, random_state=0)
        s.fit(synth_frame)
        fit_s = time.perf_counter() - start
        sample = bound.derive(s.sample(rows), domain.names)
    except JobcastError as e:
        out["refused"] = str(e)
        return out
    total = time.perf_counter() - start
    assert sample.shape == (rows, columns)
    out.update(method=s.method, fit_s=fit_s, sample_s=total - fit_s, total_s=total,
               cpu_s=time.process_time() - cpu0)  # fmt: skip
    return out


def per_job(repeats: int, ds_repeats: int) -> dict[str, dict[str, float]]:
    """Describe + generate 1000 rows of each c3o-paper job in-process (median seconds)."""
    from jobcast.evaluation.privacy import (
        C3O_PAPER_JOBS,
        DataSynthesizerBaseline,
        c3o_paper_domain,
        load_c3o_paper,
    )

    def median_of(fn: Callable[[int], object], n: int) -> float:
        fn(-1)  # warm-up
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    out: dict[str, dict[str, float]] = {}
    for job in C3O_PAPER_JOBS:
        frame, dom = load_c3o_paper(job), c3o_paper_domain(job)
        row = {
            f"{m}_s": median_of(
                lambda i, m=m, f=frame, d=dom: make_synthesizer(
                    m, domain=d, epsilon=1.0, random_state=i + 1
                )
                .fit(f)
                .sample(1000),
                repeats,
            )
            for m in ("perfmodel", "privbayes")
        }
        row["datasynthesizer_s"] = median_of(
            lambda i, f=frame: DataSynthesizerBaseline(epsilon=1.0, k=2, random_state=0)
            .fit(f)
            .sample(1000),
            ds_repeats,
        )
        out[job] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000, help="rows of the side-by-side table")
    ap.add_argument("--repeats", type=int, default=3, help="runs of jobcast share")
    ap.add_argument("--ds-repeats", type=int, default=1, help="runs of DataSynthesizer")
    ap.add_argument("--skip-large", action="store_true", help="skip 100,000 x 20")
    ap.add_argument("--per-job", action="store_true", help="also the c3o-paper jobs in-process")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    load = os.getloadavg()
    result: dict[str, Any] = {"load_average": load}
    result["processes"] = processes(args.rows, args.repeats, args.ds_repeats)
    if not args.skip_large:
        result["large"] = large_table()
    if args.per_job:
        result["per_job"] = per_job(max(args.repeats, 3), args.ds_repeats)
    result["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    p = result["processes"]
    ds = p["datasynthesizer_k3"]
    print(f"load average before {load[0]:.2f}, after {result['load_average_after'][0]:.2f}")
    print(f"whole processes, {p['rows']:,} x {p['columns']} table, epsilon = 1, {p['rows']:,} "
          f"synthetic rows (median of {args.repeats} / {ds['runs']} runs):")  # fmt: skip
    if "jobcast_share" in p:
        js = p["jobcast_share"]
        print(f"  jobcast share ({p['jobcast_method']}):  wall {js['wall_s']:7.2f} s   "
              f"cpu {js['cpu_s']:7.2f} s")  # fmt: skip
    else:
        print(f"  jobcast share: refused: {p['jobcast_refused'].splitlines()[-1]}")
    print(f"  DataSynthesizer (correlated, k=3):  wall {ds['wall_s']:7.2f} s   "
          f"cpu {ds['cpu_s']:7.2f} s")  # fmt: skip
    if "ratio_wall" in p:
        print(f"  DataSynthesizer / jobcast:          wall {p['ratio_wall']:7.1f} x   "
              f"cpu {p['ratio_cpu']:7.1f} x   (target >= 20 x)")  # fmt: skip
    large = result.get("large")
    if large is not None and "refused" in large:
        print(f"{large['method']} on {large['rows']:,} x {large['columns']}: refused: "
              f"{large['refused']}")  # fmt: skip
    elif large is not None:
        print(f"{large['method']} on {large['rows']:,} rows x {large['columns']} columns "
              f"(describe + generate, in-process): fit {large['fit_s']:.2f} s + sample "
              f"{large['sample_s']:.2f} s = {large['total_s']:.2f} s (cpu {large['cpu_s']:.2f} s;"
              " target <= 5 s)")  # fmt: skip
    for job, r in result.get("per_job", {}).items():
        print(f"  {job:<18} perfmodel {r['perfmodel_s'] * 1e3:7.1f} ms  privbayes "
              f"{r['privbayes_s'] * 1e3:7.1f} ms  DataSynthesizer {r['datasynthesizer_s']:6.2f} s"
              f"  ({r['datasynthesizer_s'] / r['perfmodel_s']:.0f} x perfmodel)")  # fmt: skip


if __name__ == "__main__":
    main()
