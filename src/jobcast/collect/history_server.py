"""Spark History Server ingestion: list applications, read each one's iterations by REST.

The History Server speaks the same REST API as a running application's UI
(``/api/v1/applications``, ``.../jobs``, ``.../stages``, ``.../executors``), so one
application is read with :class:`~jobcast.collect.rest.SparkRestFollower`: the same
iteration-grouping rule (:mod:`jobcast.collect.grouping`) as event logs and live runs.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd

from jobcast.collect.grouping import DEFAULT_ITERATIONS, IterationMode
from jobcast.collect.rest import SparkRestError, SparkRestFollower, parse_spark_time
from jobcast.collect.runs import ApplicationRun
from jobcast.errors import InputError

__all__ = ["Application", "list_applications", "read_application"]

logger = logging.getLogger(__name__)

_API = "/api/v1"


class Application(dict[str, Any]):
    """One entry of ``/api/v1/applications`` (``id``, ``name``, ``attempts``), as returned."""

    @property
    def completed(self) -> bool:
        """Whether its last attempt has ended."""
        attempts = self.get("attempts") or []
        return bool(attempts) and bool(attempts[0].get("completed"))

    @property
    def started_at(self) -> datetime | None:
        """Start of its last attempt (UTC)."""
        attempts = self.get("attempts") or []
        return parse_spark_time(attempts[0].get("startTime")) if attempts else None


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InputError(f"a History Server URL starts with http:// or https://, got {url!r}")
    return url.rstrip("/")


def list_applications(
    url: str,
    *,
    since: datetime | None = None,
    app_name: str | None = None,
    completed_only: bool = False,
    timeout_s: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> list[Application]:
    """Applications a History Server (or a Spark UI) knows, oldest first.

    Parameters
    ----------
    url
        ``http://host:18080`` (History Server) or ``http://driver:4040`` (Spark UI).
    since
        Only applications started at or after this time.
    app_name
        Regular expression searched in the application's name.
    completed_only
        Leave out applications still running.

    Raises
    ------
    InputError
        For a bad URL or regular expression, or when the server cannot be reached.
    """
    base = _check_url(url)
    try:
        pattern = None if app_name is None else re.compile(app_name)
    except re.error as e:
        raise InputError(f"--app-name {app_name!r} is not a regular expression: {e}") from e
    params: dict[str, str] = {}
    if since is not None:
        t = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        params["minDate"] = t.strftime("%Y-%m-%dT%H:%M:%S.000GMT")
    try:
        r = httpx.get(f"{base}{_API}/applications", params=params, timeout=timeout_s)
        r.raise_for_status()
        raw = r.json()
    except (httpx.HTTPError, ValueError) as e:
        raise InputError(f"cannot list the applications of {base}: {e}") from e
    apps = [Application(a) for a in raw]
    if pattern is not None:
        apps = [a for a in apps if pattern.search(str(a.get("name", "")))]
    if completed_only:
        apps = [a for a in apps if a.completed]
    if since is not None:
        cut = since if since.tzinfo else since.replace(tzinfo=UTC)
        apps = [a for a in apps if a.started_at is None or a.started_at >= cut]
    return sorted(apps, key=lambda a: a.started_at or datetime.min.replace(tzinfo=UTC))


def read_application(
    url: str,
    app_id: str,
    *,
    iterations: IterationMode = DEFAULT_ITERATIONS,
    timeout_s: float = 10.0,
    max_polls: int = 5,
) -> tuple[ApplicationRun, pd.DataFrame]:
    """One finished application's summary and iterations, read over REST.

    Raises
    ------
    SparkRestError
        When the server does not know the application or it has not ended.
    """
    base = _check_url(url)
    with SparkRestFollower(
        base, app_id=app_id, iterations=iterations, timeout_s=timeout_s, log_grace_s=0
    ) as follower:
        frames = [follower.poll()]
        for _ in range(max_polls):
            if follower.ended:
                break
            frames.append(follower.poll())
        if not follower.ended:
            raise SparkRestError(f"application {app_id} at {base} has not ended yet")
        run = follower.application_run()
    frame = pd.concat(frames, ignore_index=True)
    return run, frame
