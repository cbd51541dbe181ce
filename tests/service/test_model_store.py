"""The service's model store after it was closed: no new work, no new worker pool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobcast.errors import JobcastError
from jobcast.history.repository import HistoryRepository
from jobcast.service.models import ModelStore


def test_answer_after_close_is_refused_without_starting_workers(tmp_path: Path) -> None:
    repo = HistoryRepository(f"sqlite:///{tmp_path / 'history.db'}")
    store = ModelStore(repo, workers=1)
    store.close()
    with pytest.raises(JobcastError, match="shutting down"):
        asyncio.run(store.answer("predict", "job", {"scale_out": 4}, ("v", 1)))
    assert store._pool is None  # closing is final: no pool was started for the request
    with pytest.raises(JobcastError, match="shutting down"):
        store.warm({"job": ("v", 1)})
    assert store._pool is None


def test_answers_on_one_history_version_share_one_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobcast.app.fitting as fitting
    from jobcast.app.imports import import_c3o
    from tests.conftest import shared_file

    repo = HistoryRepository(f"sqlite:///{tmp_path / 'history.db'}")
    import_c3o(repo, [shared_file("c3o", "sort.tsv")], job="sort")
    fits: list[str] = []
    real = fitting.fit_job

    def counted(*args: object, **kwargs: object) -> fitting.FittedJob:
        fits.append(str(kwargs.get("model")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fitting, "fit_job", counted)
    store = ModelStore(repo, workers=0)  # a thread: the monkeypatch is seen
    try:

        def ask(scale_out: int, version: tuple[object, ...], model: str = "ernest") -> object:
            body = {
                "scale_out": [scale_out],
                "set": {"data_size_MB": 10_000, "line_length": 1000, "lines": 10_000_000},
                "machine_type": "c4.2xlarge",
                "model": model,
            }
            return asyncio.run(store.answer("predict", "sort", body, version))

        first, second = ask(4, ("v", 1)), ask(8, ("v", 1))
        assert fits == ["ernest"]  # two questions, one fit
        assert first != second
        ask(4, ("v", 2))  # a new version of the history fits again
        ask(16, ("v", 2), model="optimistic")  # and so does another model
        assert fits == ["ernest", "ernest", "optimistic"]
    finally:
        store.close()


def test_a_worker_ends_once_the_service_is_gone() -> None:
    """Was: after `kill -9` of `jobcast serve` its model workers ran on for half an hour."""
    import subprocess
    import sys
    import threading

    from jobcast.service.models import _exit_with

    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    left: list[int] = []
    watch = threading.Thread(
        target=_exit_with, args=(server.pid,), kwargs={"every_s": 0.05, "leave": left.append}
    )
    watch.start()
    watch.join(0.2)
    assert left == [] and watch.is_alive()  # the service still runs
    server.wait()
    watch.join(5)
    assert left == [0] and not watch.is_alive()
