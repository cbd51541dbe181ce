from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jobcast.errors import InputError
from jobcast.workloads import (
    WORKLOADS,
    SparkOptions,
    cc,
    find_app_event_log,
    kmeans,
    pagerank,
    run_workload,
    sgd,
    workload_defaults,
)
from jobcast.workloads.record import workload_attributes
from tests.workloads.spark_batch import collector_reports


def test_defaults_and_bad_arguments(tmp_path: Path) -> None:
    assert set(WORKLOADS) == {"pagerank", "cc", "kmeans", "sgd"}
    for name in WORKLOADS:
        size, params = workload_defaults(name)
        assert size >= 2 and params["pause_s"] == 0.0 and "seed" in params
    with pytest.raises(InputError, match="unknown workload 'wordcount'"):
        run_workload("wordcount", event_log_dir=tmp_path)
    with pytest.raises(InputError, match="no parameter 'depth'"):
        run_workload("kmeans", params={"depth": 3}, event_log_dir=tmp_path)
    with pytest.raises(InputError, match="must be a int"):
        run_workload("kmeans", params={"k": "many"}, event_log_dir=tmp_path)
    with pytest.raises(InputError, match="size"):
        run_workload("kmeans", size=1, event_log_dir=tmp_path)
    with pytest.raises(InputError, match="cores"):
        SparkOptions(cores=0, event_log_dir=tmp_path)
    with pytest.raises(InputError, match="codec"):
        SparkOptions(cores=1, event_log_dir=tmp_path, codec="snappy")


def test_spark_options_conf(tmp_path: Path) -> None:
    conf = SparkOptions(
        cores=3, event_log_dir=tmp_path, codec="zstd", rolling=True, ui_port=4555, app_name="x"
    ).conf()
    assert conf["spark.master"] == "local[3]"
    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == tmp_path.resolve().as_uri()
    assert conf["spark.eventLog.compression.codec"] == "zstd"
    assert conf["spark.eventLog.rolling.enabled"] == "true"
    assert conf["spark.ui.port"] == "4555" and conf["spark.ui.enabled"] == "true"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    plain = SparkOptions(cores=1, event_log_dir=tmp_path).conf()
    assert plain["spark.eventLog.compress"] == "false" and plain["spark.ui.enabled"] == "false"


def test_find_app_event_log(tmp_path: Path) -> None:
    assert find_app_event_log(tmp_path, "local-1") is None
    (tmp_path / "local-1.zstd").write_bytes(b"")
    assert find_app_event_log(tmp_path, "local-1") == tmp_path / "local-1.zstd"
    (tmp_path / "eventlog_v2_local-2").mkdir()
    assert find_app_event_log(tmp_path, "local-2") == tmp_path / "eventlog_v2_local-2"


def test_generators_are_seeded_and_sane() -> None:
    a = pagerank.generate_links(500, degree=4, seed=1)
    assert a == pagerank.generate_links(500, degree=4, seed=1)
    assert a != pagerank.generate_links(500, degree=4, seed=2)
    targets = {t for _, out in a for t in out}
    assert targets == set(range(500))  # every page has an in-link
    assert all(page not in out for page, out in a)
    edges = cc.generate_edges(300, degree=2.0, seed=0)
    assert set(edges) == {(b, a) for a, b in edges}  # undirected
    pts = kmeans.generate_points(1000, kmeans.DEFAULTS)
    assert pts.shape == (1000, kmeans.DEFAULTS["dimensions"])
    rows = np.array(sgd.generate_rows(200, sgd.DEFAULTS))
    assert rows.shape == (200, sgd.DEFAULTS["features"] + 1)


@pytest.mark.spark
@pytest.mark.slow
def test_real_runs(spark_runs: dict[str, dict[str, Any]]) -> None:
    for name, run in spark_runs.items():
        assert run["iterations"] >= 1, name
        assert len(run["durations_s"]) == run["iterations"]
        assert Path(run["event_log"]).exists()
        assert run["app_id"].startswith("local-")
    assert spark_runs["kmeans"]["records"][0] == spark_runs["kmeans"]["size"]
    frac = spark_runs["sgd"]["params"]["fraction"]
    for r in spark_runs["sgd"]["records"]:
        assert abs(r - frac * spark_runs["sgd"]["size"]) < 0.1 * spark_runs["sgd"]["size"]
    # label propagation relabels at most every vertex, and fewer as it converges
    cc_records = spark_runs["cc"]["records"]
    assert max(cc_records) <= spark_runs["cc"]["size"]


@pytest.mark.spark
@pytest.mark.slow
def test_real_run_reports_to_collector(
    spark_runs: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = collector_reports(tmp_path_factory.getbasetemp())
    reported = [r for r in spark_runs.values() if r["reported"]]
    assert reported
    run = reported[0]
    executions = [e for e in store["executions"] if e["execution"] == run["app_id"]]
    assert [e["finished_at"] is None for e in executions] == [True, False]
    # the job, attributes and scale-out that `workloads run` records without a collector
    assert executions[0]["job"] == run["name"] == run["job"]
    expected = workload_attributes(run["size"], run["cores"], run["params"])
    assert executions[0]["params"] == {k: v for k, v in expected.items() if k != "input_size"}
    assert executions[0]["scale_out"] == run["cores"] == 2
    assert run["collector_problem"] is None
    starts = [s for s in store["starts"] if s["execution"] == run["app_id"]]
    finishes = [f for f in store["finishes"] if f["execution"] == run["app_id"]]
    assert [s["iteration"] for s in starts] == list(range(run["iterations"]))
    assert [f["records"] for f in finishes] == run["records"]
    assert {f["scale_out"] for f in finishes} == {2}  # local mode: the worker threads
    assert executions[0]["input_size"] == run["size"]
