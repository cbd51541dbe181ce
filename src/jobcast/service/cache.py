"""Answers of model requests kept while the job's history is unchanged (bounded, LRU)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from jobcast.app.service_reads import job_version
from jobcast.history import HistoryRepository

__all__ = ["ResultCache"]


class ResultCache:
    """Least-recently-used answers keyed by request and the job's :func:`job_version`.

    Parameters
    ----------
    repo
        The history whose job versions are checked on every lookup.
    size
        Most answers kept.
    """

    def __init__(self, repo: HistoryRepository, *, size: int = 256) -> None:
        self.repo = repo
        self.size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def get(
        self, key: tuple[str, str, BaseModel], compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """The cached answer for ``key`` on the job's current history, else ``compute()``."""
        kind, job, body = key
        full = (kind, job, body.model_dump_json(), job_version(self.repo, job))
        with self._lock:
            hit = self._answers.get(full)
            if hit is not None:
                self._answers.move_to_end(full)
                return hit
        answer = compute()
        with self._lock:
            self._answers[full] = answer
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return answer
