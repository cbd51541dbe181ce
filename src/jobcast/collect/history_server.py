"""Spark History Server ingestion: list its applications and download their event logs.

The History Server speaks the same REST API as a running application's UI
(``/api/v1/applications``, ``.../logs``), so :func:`list_applications` reads a Spark UI
too; an application's log is then parsed like any event log, with the same
iteration-grouping rule (:mod:`jobcast.collect.grouping`) as live runs.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from jobcast.collect.spark_env import parse_spark_time
from jobcast.errors import InputError, SparkRestError

__all__ = ["Application", "download_event_log", "list_applications"]

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
    def attempt_id(self) -> str | None:
        """Id of its last attempt (YARN cluster mode runs applications in attempts)."""
        attempts = self.get("attempts") or []
        found = attempts[0].get("attemptId") if attempts else None
        return None if found in (None, "") else str(found)

    @property
    def path(self) -> str:
        """Its REST path: ``/applications/ID`` or, with attempts, ``/applications/ID/ATTEMPT``."""
        attempt = self.attempt_id
        return f"/applications/{self['id']}" + (f"/{attempt}" if attempt else "")

    @property
    def external_id(self) -> str:
        """The id its runs get in the history, as from its event log (``ID_ATTEMPT``)."""
        attempt = self.attempt_id
        return str(self["id"]) + (f"_{attempt}" if attempt else "")

    @property
    def started_at(self) -> datetime | None:
        """Start of its last attempt (UTC)."""
        attempts = self.get("attempts") or []
        return parse_spark_time(attempts[0].get("startTime")) if attempts else None


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InputError(f"a History Server URL starts with http:// or https://, got {url!r}")
    return url.rstrip("/")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


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
    where = f"{base}{_API}/applications"
    try:
        r = httpx.get(where, params=params, timeout=timeout_s)
    except httpx.HTTPError as e:
        raise InputError(
            f"cannot reach {base}: {_one_line(e)}; check the URL and that the History Server "
            "(or the Spark UI) is running"
        ) from e
    try:
        if r.status_code != 200:
            raise ValueError(f"status {r.status_code}")
        raw = r.json()
        if not isinstance(raw, list):
            raise ValueError("not a list")
    except ValueError as e:
        raise InputError(
            f"{where} answered {_one_line(e)}, not a list of applications: is {base} a Spark "
            "History Server (http://HOST:18080) or a Spark UI (http://DRIVER:4040)?"
        ) from None
    apps = [Application(a) for a in raw]
    if pattern is not None:
        apps = [a for a in apps if pattern.search(str(a.get("name", "")))]
    if completed_only:
        apps = [a for a in apps if a.completed]
    if since is not None:
        cut = since if since.tzinfo else since.replace(tzinfo=UTC)
        apps = [a for a in apps if a.started_at is None or a.started_at >= cut]
    return sorted(apps, key=lambda a: a.started_at or datetime.min.replace(tzinfo=UTC))


def download_event_log(
    url: str, app: Application, dest: Path, *, timeout_s: float = 60.0
) -> list[Path]:
    """Copy an application's event log from a History Server (its ``/logs`` zip) to ``dest``.

    The History Server hands out the log Spark wrote, so every job is in it (its REST
    API keeps only the last ``spark.ui.retainedJobs``) and so are the settings the run
    carries.

    Returns
    -------
    list of Path
        What the zip held at its top level in ``dest`` (a file, or a rolling folder).

    Raises
    ------
    SparkRestError
        The server answers, but not with this application's log (it is named).
    InputError
        The server cannot be reached.
    """
    base = _check_url(url)
    where = f"{base}{_API}{app.path}/logs"
    try:
        r = httpx.get(where, timeout=timeout_s)
    except httpx.HTTPError as e:
        raise InputError(
            f"cannot reach the History Server at {base} (reading {where}): {e}; check that "
            "it is running and import again"
        ) from e
    if r.status_code != 200:
        raise SparkRestError(f"{where}: answered {r.status_code} ({r.text[:160].strip()})")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            for n in names:
                target = (dest / n).resolve()
                if dest.resolve() not in target.parents:
                    raise SparkRestError(f"{where}: the zip holds a path outside it: {n!r}")
            z.extractall(dest)
    except zipfile.BadZipFile as e:
        raise SparkRestError(f"{where}: answered no zip of event logs ({e})") from e
    tops = sorted({n.split("/", 1)[0] for n in names})
    if not tops:
        raise SparkRestError(f"{where}: the History Server has no event log of it")
    return [dest / t for t in tops]
