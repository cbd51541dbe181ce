"""What Spark's REST API says in its own formats: times, and where an application logs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["SPARK_EVENT_LOG_DIR", "event_log_dir_from_properties", "parse_spark_time"]

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
