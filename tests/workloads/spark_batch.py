"""Real local PySpark runs shared by the collect and workloads tests (run in a subprocess).

Spark starts slowly, so one subprocess runs every workload the tests need, once per test
session, and writes a manifest; the fixtures below reuse it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: name, size, params, codec, rolling: small runs covering every codec and layout
BATCH: list[dict[str, Any]] = [
    {
        "name": "pagerank",
        "size": 2000,
        "params": {"iterations": 3},
        "codec": "zstd",
        "rolling": True,
    },
    {"name": "cc", "size": 2000, "params": {"iterations": 3}, "codec": None, "rolling": False},
    {"name": "kmeans", "size": 5000, "params": {"iterations": 3}, "codec": "lz4", "rolling": False},
    {
        "name": "sgd",
        "size": 5000,
        "params": {"iterations": 3},
        "codec": None,
        "rolling": True,
        "report": True,
    },
]
#: fewer tasks per stage than the workloads' default: the tests need events, not load
TEST_CONF = {"spark.default.parallelism": "2"}


def run_batch(out: Path, specs: list[dict[str, Any]]) -> None:
    """Subprocess entry: run ``specs`` in one JVM and write ``manifest.json``."""
    from jobcast.workloads import run_workload

    results = []
    for spec in specs:
        r = run_workload(
            spec["name"],
            size=spec["size"],
            cores=2,
            params=spec["params"],
            event_log_dir=out / "events",
            codec=spec["codec"],
            rolling=spec["rolling"],
            collector_url=spec.get("collector_url"),
            ui_port=spec.get("ui_port"),
            spark_conf={**TEST_CONF, **spec.get("spark_conf", {})},
        )
        results.append(
            {
                **r.to_dict(),
                "codec": spec["codec"],
                "rolling": spec["rolling"],
                "reported": bool(spec.get("collector_url")),
            }
        )
    (out / "manifest.json").write_text(json.dumps(results, indent=1))


def spark_batch(base: Path) -> list[dict[str, Any]]:
    """Run :data:`BATCH` once per session (reusing a manifest already written)."""
    # JOBCAST_TEST_SPARK_BATCH names a folder to keep the runs in between test sessions
    out = Path(os.environ.get("JOBCAST_TEST_SPARK_BATCH") or base / "spark-batch")
    manifest = out / "manifest.json"
    if not manifest.exists():
        out.mkdir(parents=True, exist_ok=True)
        from tests.collect.recording_server import recording_server

        # runs marked "report" send their iterations to a real collector over HTTP
        with recording_server() as (url, store):
            specs = [{**s, "collector_url": url} if s.get("report") else s for s in BATCH]
            proc = subprocess.run(
                [sys.executable, __file__, str(out), json.dumps(specs)],
                capture_output=True,
                text=True,
                timeout=900,
                env={**os.environ, "PYSPARK_PYTHON": sys.executable},
            )
        if proc.returncode != 0:
            pytest.fail(f"Spark batch failed:\n{proc.stderr[-4000:]}")
        (out / "collector.json").write_text(json.dumps(store))
    return json.loads(manifest.read_text())  # type: ignore[no-any-return]


def collector_reports(base: Path) -> dict[str, list[Any]]:
    """What the batch's runs reported to the collector."""
    out = Path(os.environ.get("JOBCAST_TEST_SPARK_BATCH") or base / "spark-batch")
    return json.loads((out / "collector.json").read_text())  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO)
    target = Path(sys.argv[1])
    specs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else BATCH
    run_batch(target, specs)


@pytest.fixture(scope="session")
def spark_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The real PySpark runs of the batch, by workload name."""
    runs = spark_batch(tmp_path_factory.getbasetemp())
    return {r["name"]: r for r in runs}


@pytest.fixture(scope="session")
def real_logs(spark_runs: dict[str, dict[str, Any]]) -> dict[str, Path]:
    """The event log of every run of the batch, by workload name."""
    return {name: Path(r["event_log"]) for name, r in spark_runs.items()}
