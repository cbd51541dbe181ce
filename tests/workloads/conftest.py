from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.workloads.spark_batch import spark_batch


@pytest.fixture(scope="session")
def spark_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The real PySpark runs of the batch, by workload name."""
    runs = spark_batch(tmp_path_factory.getbasetemp())
    return {r["name"]: r for r in runs}


@pytest.fixture(scope="session")
def real_logs(spark_runs: dict[str, dict[str, Any]]) -> dict[str, Path]:
    return {name: Path(r["event_log"]) for name, r in spark_runs.items()}
