"""Service load: 100 concurrent clients mixing collector submissions, ETA reads and predictions.

The history holds ``--history`` finished executions of an iterative job (10 iterations
each), ``--running`` executions of it still running (their ETAs are what clients read),
and the C3O ``sort`` trace (for predictions). The service (``create_app`` with tokens
required, a deadline for the iterative job, 127.0.0.1 only) runs in a subprocess. Each
of ``--clients`` clients opens one keep-alive connection and sends ``--requests``
requests, cycling through its kinds, pausing ``--think-ms`` on average (uniformly 0.5-1.5
times it) between two, as collectors and polling dashboards do (``--think-ms 0`` sends
back to back and measures saturation): a collector submission (the start of an execution
of its own, then its iterations' starts and finishes), an ETA read of a running
execution, and (every third client) a prediction of ``sort`` at three scale-outs.

The load starts once ``/api/v1/health`` reports the progress models ready (fitted at
start-up, in the service's worker processes) and the first pass has an ETA for every
running execution. Printed per kind: count, answers that were not 2xx, p50 and p99
latency; the machine's load average before and after; afterwards the history is checked:
every submitted iteration stored exactly once (nothing lost, nothing duplicated), and
the verdict against the target (issue 12): ETA reads <= 50 ms p99 with 1,000 executions.

Usage::

    .venv/bin/python benchmarks/bench_service_load.py [--backend sqlite|postgres]
        [--clients 100] [--requests 30] [--think-ms 1000] [--history 1000] [--running 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _http_load import Connection, connect, database, free_port, percentile, server

SORT = Path(__file__).resolve().parents[2] / "shared" / "data" / "c3o-paper" / "sort.csv"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build_history(url: str, n_history: int, n_running: int) -> tuple[str, str, list[str]]:
    """Fill the history; returns (collect token, read token, running execution ids)."""
    import numpy as np
    import pandas as pd

    from jobcast.history import (
        ExecutionTable,
        HistoryRepository,
        IterationTable,
        JobSpec,
        Provenance,
        SourceKind,
    )
    from jobcast.history.importers import read_c3o
    from jobcast.history.tokens import TokenStore

    rng = np.random.default_rng(0)
    base = 10.0 * rng.lognormal(0.0, 0.05, 10)
    execs, iters = [], []
    for r in range(n_history):
        scale = float(rng.lognormal(0.0, 0.1))
        start = T0 + timedelta(hours=r)
        t = start
        for i, d in enumerate(base * scale):
            iters.append(
                {
                    "execution": f"old-{r:05d}",
                    "iteration": i,
                    "duration_s": float(d),
                    "scale_out": 4,
                    "started_at": t,
                    "finished_at": t + timedelta(seconds=float(d)),
                    "records": 1000.0,
                    "cpu": None,
                    "disk": None,
                    "net": None,
                }
            )
            t += timedelta(seconds=float(d) + 2.0)
        execs.append(
            {
                "external_id": f"old-{r:05d}",
                "gross_runtime": (t - start).total_seconds() + 1.0,
                "scale_out": 4,
                "machine_type": None,
                "started_at": start,
                "finished_at": t + timedelta(seconds=1),
            }
        )
    spec = JobSpec("loop")
    table = ExecutionTable(spec, pd.DataFrame(execs), Provenance(SourceKind.FILE, "bench"))
    with HistoryRepository(url) as repo:
        repo.import_iterations(IterationTable(table, pd.DataFrame(iters)))
        repo.import_executions(read_c3o(SORT, job="sort"))
        now = datetime.now(UTC)
        running = []
        for k in range(n_running):
            ex = f"now-{k:03d}"
            start = now - timedelta(seconds=30 + k)
            repo.start_execution(repo.job("loop"), ex, scale_out=4, started_at=start)
            t = start
            for i, d in enumerate(base[:3]):
                repo.record_iteration(
                    "loop",
                    ex,
                    i,
                    values={
                        "started_at": t,
                        "finished_at": t + timedelta(seconds=float(d)),
                        "duration_s": float(d),
                    },
                )
                t += timedelta(seconds=float(d))
            running.append(ex)
        tokens = TokenStore(repo)
        collect = tokens.create("collect", create_jobs=True, note="bench").token
        read = tokens.create("read", note="bench").token
    return collect, read, running


def serve(url: str, port: int) -> None:
    """Server subprocess: the service with tokens required on loopback."""
    import logging

    import uvicorn

    from jobcast.service import create_app
    from jobcast.service.settings import ServiceSettings

    logging.basicConfig(level=logging.WARNING)
    settings = ServiceSettings(deadlines=(("loop", 200.0),), watch_interval_s=5.0)
    uvicorn.run(
        create_app(url, settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


async def _client(
    conn: Connection,
    k: int,
    n: int,
    tokens: tuple[str, str],
    running: list[str],
    out: dict[str, list[float]],
    bad: dict[str, int],
    stored: list[tuple[str, int]],
    think_s: float,
) -> None:
    collect, read = tokens
    rng = random.Random(k)
    ex = f"load-{k:04d}"
    kinds = ["collect", "eta", "predict"] if k % 3 == 0 else ["collect", "eta"]
    iteration, started = 0, False
    for j in range(n):
        if think_s > 0:
            # a client waits between requests as a collector or a polling page does
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        kind = kinds[j % len(kinds)]
        t = time.perf_counter()
        if kind == "collect":
            if not started:
                body = {
                    "execution": ex,
                    "job": "collected",
                    "started_at": T0.isoformat(),
                    "scale_out": 2,
                }
                path = "/api/v1/collector/executions"
                started = True
            else:
                s = T0 + timedelta(seconds=2 * iteration + 1)
                body = {
                    "execution": ex,
                    "iteration": iteration,
                    "started_at": s.isoformat(),
                    "scale_out": 2,
                }
                path = "/api/v1/collector/iterations/start"
                iteration += 1
            status = await conn.request("POST", path, token=collect, body=json.dumps(body).encode())
            if path.endswith("start") and 200 <= status < 300:
                stored.append((ex, int(body["iteration"])))  # type: ignore[call-overload]
        elif kind == "eta":
            target = running[(k + j) % len(running)]
            status = await conn.request("GET", f"/api/v1/executions/{target}/eta", token=read)
        else:
            body = {"set": {"data_size_MB": 15408}, "scale_out": [4, 8, 12], "model": "ernest"}
            status = await conn.request(
                "POST", "/api/v1/jobs/sort/predict", token=read, body=json.dumps(body).encode()
            )
        out.setdefault(kind, []).append(time.perf_counter() - t)
        if not 200 <= status < 300:
            bad[kind] = bad.get(kind, 0) + 1


def _ready(port: int, token: str, running: int) -> bool:
    """Whether the service's models are fitted and its first pass has every running ETA."""
    import httpx

    try:
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json()
        if not health.get("ready"):
            return False
        metrics = httpx.get(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).text
    except httpx.HTTPError:
        return False
    return metrics.count("jobcast_execution_remaining_seconds{") >= running


def _load(
    port: int, args: argparse.Namespace, tokens: tuple[str, str], running: list[str]
) -> tuple[dict[str, list[float]], dict[str, int], list[tuple[str, int]], float]:
    out: dict[str, list[float]] = {}
    bad: dict[str, int] = {}
    stored: list[tuple[str, int]] = []

    async def one(k: int) -> None:
        async with connect(port) as conn:
            await _client(
                conn, k, args.requests, tokens, running, out, bad, stored, args.think_ms / 1000
            )

    async def load() -> None:
        await asyncio.gather(*(one(k) for k in range(args.clients)))

    t = time.perf_counter()
    asyncio.run(load())
    return out, bad, stored, time.perf_counter() - t


def _checked(url: str, stored: list[tuple[str, int]]) -> tuple[int, int]:
    """(lost, duplicated) acknowledged iterations in the history."""
    from jobcast.history import HistoryRepository

    with HistoryRepository(url) as repo:
        frame = repo.iterations("collected", include_running=True)
    got = sorted(zip(frame["execution"], frame["iteration"], strict=True))
    lost = len(set(stored) - set(got))
    dup = len(got) - len(set(got))
    print(
        f"collector: {len(stored)} iterations acknowledged, {len(got)} stored, "
        f"{lost} lost, {dup} duplicated"
    )
    return lost, dup


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(args: argparse.Namespace) -> int:
    with database(args.backend, "jobcast_svcload") as url:
        t = time.perf_counter()
        collect, read, running = build_history(url, args.history, args.running)
        print(
            f"history: {args.history} finished + {args.running} running executions "
            f"({time.perf_counter() - t:.1f} s to build), backend {args.backend}"
        )
        port = free_port()
        argv = [sys.executable, __file__, "--serve", url, str(port)]
        with server(argv, port, timeout=120) as proc:
            t = time.perf_counter()
            deadline = time.monotonic() + args.warmup
            while not _ready(port, read, len(running)):
                if time.monotonic() > deadline or proc.poll() is not None:
                    print("the service did not get ready (models fitted, ETAs of the runs)")
                    return 1
                time.sleep(0.5)
            print(f"service ready (models fitted, first pass) in {time.perf_counter() - t:.1f} s")
            before = _load_average()
            out, bad, stored, wall = _load(port, args, (collect, read), running)
            after = _load_average()
        total = sum(len(v) for v in out.values())
        print(
            f"{args.clients} clients, think {args.think_ms:g} ms, {total} requests in "
            f"{wall:.1f} s ({total / wall:.0f}/s); load average (1, 5, 15 min) before "
            f"{before}, after {after}, {os.cpu_count()} CPUs"
        )
        print(f"{'kind':<10}{'count':>8}{'non-2xx':>9}{'p50 ms':>10}{'p99 ms':>10}")
        for kind in ("collect", "eta", "predict"):
            v = out.get(kind, [])
            if v:
                print(
                    f"{kind:<10}{len(v):>8}{bad.get(kind, 0):>9}"
                    f"{percentile(v, 0.5) * 1000:>10.1f}{percentile(v, 0.99) * 1000:>10.1f}"
                )
        lost, dup = _checked(url, stored)
        eta_p99 = percentile(out.get("eta", [0.0]), 0.99) * 1000
        ok = lost == 0 and dup == 0 and not bad and eta_p99 <= 50.0
        print(
            f"verdict: ETA p99 {eta_p99:.1f} ms (target <= 50 ms), {lost} lost, {dup} "
            f"duplicated, {sum(bad.values())} non-2xx: {'MET' if ok else 'NOT MET'}"
        )
        return 0 if ok else 1


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--requests", type=int, default=30)
    p.add_argument("--history", type=int, default=1000)
    p.add_argument("--running", type=int, default=20)
    p.add_argument(
        "--think-ms",
        type=float,
        default=1000,
        help="Mean pause of a client between its requests (0: back to back, saturating).",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=900,
        help="Most seconds to wait for the models to be fitted and the first ETA pass.",
    )
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()
