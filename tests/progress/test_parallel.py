"""Progress work through joblib alone: run_tasks, the callback protocol, Dask at the edge."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from joblib import parallel_config

from jobcast.errors import InputError, MissingExtraError
from jobcast.progress.parallel import ProgressCallback, dask_backend, run_tasks


def _where(x: int) -> tuple[int, int, str]:
    """The task's square, and the process and thread that computed it."""
    return x * x, os.getpid(), threading.current_thread().name


class Recorder:
    """A ProgressCallback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int, /) -> None:
        self.calls.append((done, total))


def test_serial_by_default_in_order_with_one_report_per_task() -> None:
    seen = Recorder()
    callback: ProgressCallback = seen
    out = run_tasks(_where, [(x,) for x in range(7)], callback=callback)
    assert [r[0] for r in out] == [x * x for x in range(7)]
    assert {r[1] for r in out} == {os.getpid()}
    assert seen.calls == [(d, 7) for d in range(1, 8)]


def test_the_callers_joblib_configuration_decides_where_tasks_run() -> None:
    with parallel_config(backend="threading", n_jobs=3):
        out = run_tasks(_where, [(x,) for x in range(12)])
    assert [r[0] for r in out] == [x * x for x in range(12)]
    assert {r[2] for r in out} != {threading.current_thread().name}


def test_no_tasks_and_zero_workers() -> None:
    seen = Recorder()
    assert run_tasks(_where, [], callback=seen) == []
    assert seen.calls == []
    with pytest.raises(InputError, match="n_jobs"):
        run_tasks(_where, [(1,)], n_jobs=0)


def test_dask_backend_runs_the_tasks_on_the_cluster() -> None:
    distributed = pytest.importorskip("dask.distributed")

    def on_worker(x: int) -> tuple[int, str]:
        return x + 1, distributed.get_worker().address

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        seen = Recorder()
        with dask_backend(cluster.scheduler_address):
            out = run_tasks(on_worker, [(x,) for x in range(5)], callback=seen)
        workers = set(cluster.scheduler_info["workers"])
    assert [r[0] for r in out] == [1, 2, 3, 4, 5]
    assert {r[1] for r in out} <= workers and workers
    assert seen.calls == [(d, 5) for d in range(1, 6)]


def test_dask_backend_without_a_scheduler_changes_nothing() -> None:
    with dask_backend(None):
        out = run_tasks(_where, [(2,)])
    assert out[0][:2] == (4, os.getpid())


def test_dask_backend_without_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import dask.distributed` fail as when it is not installed
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'jobcast\[dask\]'"):
        with dask_backend("tcp://127.0.0.1:8786"):
            pass
