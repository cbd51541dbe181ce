"""Peak memory of importing a large C3O trace: the file is generated in /tmp, imported by
``jobcast import c3o`` in a subprocess, and the child's peak RSS and wall time printed.

Target (issue 13): a 200 MB file imports with a peak RSS of at most 1 GB, in one
transaction (all or nothing).

Usage::

    .venv/bin/python benchmarks/bench_import_memory.py [--mb 200] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = os.environ.get(
    "JOBCAST_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MACHINES = ("m5.large", "m5.xlarge", "c5.2xlarge", "r5.xlarge")


def generate(path: Path, megabytes: float, *, seed: int = 0) -> int:
    """Write a C3O-like trace of about ``megabytes`` MB; returns its number of rows."""
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    rows = 0
    with path.open("w", encoding="utf-8") as f:
        f.write("machine_type,instance_count,data_size_MB,iterations,gross_runtime\n")
        written = 0
        while written < target:
            lines = []
            for _ in range(10_000):
                so = rng.choice((2, 4, 6, 8, 10, 12))
                size = rng.randrange(1_000, 40_000)
                its = rng.randrange(1, 50)
                runtime = 30 + size * its / (so * 50.0) + rng.random() * 20
                lines.append(f"{rng.choice(MACHINES)},{so},{size},{its},{runtime:.3f}\n")
            chunk = "".join(lines)
            f.write(chunk)
            written += len(chunk)
            rows += len(lines)
    return rows


def main() -> None:
    """Generate, import in a subprocess, print peak RSS and time."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=200.0, help="size of the generated file")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--timeout", type=float, default=1800.0)
    args = p.parse_args()
    exe = Path(sys.executable).with_name("jobcast")
    with tempfile.TemporaryDirectory(prefix="jobcast-mem-", dir="/tmp") as d:
        trace = Path(d) / "big.csv"
        rows = generate(trace, args.mb)
        size_mb = trace.stat().st_size / 2**20
        pg_name = None
        if args.db == "sqlite":
            url = f"sqlite:///{d}/history.db"
        else:
            import psycopg

            pg_name = f"jobcast_mem_{uuid.uuid4().hex[:10]}"
            admin = PG_ADMIN.replace("postgresql+psycopg", "postgresql")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{pg_name}"')
            url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
        try:
            t = time.perf_counter()
            done = subprocess.run(
                [str(exe), "import", "c3o", str(trace), "--job", "big", "--db", url],
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
            seconds = time.perf_counter() - t
        finally:
            if pg_name is not None:
                import psycopg

                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-300:]}"
        verdict = "MET" if done.returncode == 0 and peak_mb <= 1024 else "NOT MET"
        print(
            f"{args.db}: {size_mb:.0f} MB, {rows} rows imported in {seconds:.1f} s, "
            f"peak RSS {peak_mb:.0f} MB (target <= 1024 MB for 200 MB): {verdict}; {status}"
        )


if __name__ == "__main__":
    main()
