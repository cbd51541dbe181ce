"""What Spark says in its own formats: times, settings, and where an application logs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd

__all__ = [
    "CONTEXT_PREFIX",
    "SPARK_EVENT_LOG_DIR",
    "SparkSettings",
    "event_log_dir_from_properties",
    "local_threads",
    "parse_spark_time",
]

#: Spark's default ``spark.eventLog.dir``.
SPARK_EVENT_LOG_DIR = "/tmp/spark-events"


def parse_spark_time(value: str | None) -> datetime | None:
    """Parse the REST API's ``2026-11-22T01:36:12.181GMT`` times (None for none or epoch -1)."""
    if not value:
        return None
    text = value.replace("GMT", "+00:00")
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if t.year < 1971:  # Spark writes 1969-12-31T23:59:59.999 for "not yet"
        return None
    return t.astimezone(UTC)


def event_log_dir_from_properties(properties: Mapping[str, str]) -> Path | None:
    """Return the local folder an application writes its event log to, from its Spark settings.

    Parameters
    ----------
    properties
        The application's Spark properties (the REST API's ``environment`` answer).

    Returns
    -------
    Path or None
        ``spark.eventLog.dir`` (Spark's default ``/tmp/spark-events`` when unset) as a local
        path; None when event logs are off or go to a file system that is not local
        (``hdfs://``, ``s3a://``...).
    """
    if str(properties.get("spark.eventLog.enabled", "false")).strip().lower() != "true":
        return None
    raw = str(properties.get("spark.eventLog.dir") or SPARK_EVENT_LOG_DIR).strip()
    parts = urlsplit(raw)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and raw[1:2] == ":"):  # C:\spark-events
        return Path(raw)
    return None


#: Spark settings ``spark.jobcast.context.KEY=VALUE`` carry a run's context attributes
#: (``jobcast workloads run`` sets them; ``jobcast watch`` records them with the run).
CONTEXT_PREFIX = "spark.jobcast.context."

_ENVIRONMENT = b'"Event":"SparkListenerEnvironmentUpdate"'
_LOCAL = re.compile(r"local(?:\[(\d+)(?:,\s*\d+)?\])?")


def local_threads(master: str | None) -> int | None:
    """Worker threads of a local-mode application: the scale-out jobcast records for it.

    In local mode Spark counts one executor, the driver, whatever ``local[N]`` says; the
    parallelism a local run changes is its N worker threads, so ``jobcast workloads run``
    and ``jobcast watch`` record N as the run's scale-out.

    Parameters
    ----------
    master
        ``spark.master``.

    Returns
    -------
    int or None
        N of ``local[N]`` (and ``local[N,F]``), 1 for ``local``; None for ``local[*]``
        (the threads of a machine not known here) and for cluster masters.

    Examples
    --------
    >>> local_threads("local[4]"), local_threads("local"), local_threads("yarn")
    (4, 1, None)
    """
    found = _LOCAL.fullmatch((master or "").strip())
    if found is None:
        return None
    return int(found.group(1)) if found.group(1) else 1


class SparkSettings:
    """An application's Spark settings, read from its environment event on the way.

    Attributes
    ----------
    properties
        The Spark settings, once the environment event was read (else empty).
    """

    def __init__(self) -> None:
        self.properties: dict[str, str] = {}

    def scan(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        """``lines``, reading the Spark settings from the environment event on the way.

        Only the lines up to that event (the log's first few) are looked at; the rest
        pass straight through.
        """
        rest = iter(lines)
        if not self.properties:
            for line in rest:
                yield line
                if _ENVIRONMENT in line[:80] and self._read(line):
                    break
        yield from rest

    def _read(self, line: bytes) -> bool:
        try:
            event = json.loads(line)
            props = event.get("Spark Properties") or {}
            self.properties = {str(k): str(v) for k, v in _pairs(props).items()}
        except (ValueError, AttributeError, TypeError):
            return False  # the parser counts it as corrupt if it is
        return True

    @property
    def local_threads(self) -> int | None:
        """Worker threads of a local-mode application (see :func:`local_threads`)."""
        return local_threads(self.properties.get("spark.master"))

    @property
    def context(self) -> dict[str, float | str]:
        """Context attributes the application carries in ``spark.jobcast.context.*``.

        Numbers become floats, as ``--set`` reads them.
        """
        out: dict[str, float | str] = {}
        for key, value in self.properties.items():
            if key.startswith(CONTEXT_PREFIX) and len(key) > len(CONTEXT_PREFIX):
                try:
                    out[key[len(CONTEXT_PREFIX) :]] = float(value)
                except ValueError:
                    out[key[len(CONTEXT_PREFIX) :]] = value
        return out

    def localised(self, iterations: pd.DataFrame) -> pd.DataFrame:
        """``iterations`` with a local run's worker threads as their scale-out."""
        threads = self.local_threads
        if threads is None or not len(iterations):
            return iterations
        return iterations.assign(scale_out=threads)  # as `workloads run` records a local run


def _pairs(props: Mapping[object, object] | list[object]) -> dict[object, object]:
    """Spark writes its properties as an object (or, in old logs, as [key, value] pairs)."""
    if isinstance(props, Mapping):
        return dict(props)
    return {p[0]: p[1] for p in props if isinstance(p, list) and len(p) == 2}
