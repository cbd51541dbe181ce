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
