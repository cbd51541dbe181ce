"""Event logs where teams keep them: any fsspec URL (``s3://``, ``hdfs://``, ``file://``).

Logs are copied to a local folder and read there by :mod:`jobcast.collect.eventlog`,
so every format it reads (plain, zstd, lz4, rolling ``eventlog_v2_*`` folders) works
from an object store as well.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any

from jobcast.errors import InputError, MissingExtraError

__all__ = ["RemoteLog", "list_remote_logs", "fetch_remote_log", "filesystem"]

logger = logging.getLogger(__name__)

_ROLLING = re.compile(r"^eventlog_v2_")


class RemoteLog(dict[str, Any]):
    """A log found under a prefix: ``url`` (full), ``name``, ``in_progress``, ``folder``."""


def filesystem(url: str, **storage_options: Any) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it.

    Raises
    ------
    MissingExtraError
        When the protocol's fsspec implementation (``s3fs`` for ``s3://``) is absent.
    """
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as e:
        protocol = url.split("://", 1)[0]
        package = {"s3": "s3fs", "gs": "gcsfs", "hdfs": "pyarrow"}.get(protocol, protocol)
        raise MissingExtraError(package, "dev", f"reading event logs from {protocol}://") from e
    return fs, path


def _protocol(fs: Any) -> str:
    p = fs.protocol
    return str(p[0] if isinstance(p, tuple | list) else p)


def _url(fs: Any, path: str) -> str:
    protocol = _protocol(fs)
    return path if protocol == "file" else f"{protocol}://{path}"


def list_remote_logs(url: str, **storage_options: Any) -> list[RemoteLog]:
    """Event logs directly under ``url`` (a prefix) or ``url`` itself, by name.

    Raises
    ------
    InputError
        When nothing exists at ``url``.
    """
    fs, root = filesystem(url, **storage_options)
    root = root.rstrip("/")
    if not fs.exists(root):
        raise InputError(f"nothing at {url}: check the bucket, prefix and credentials")
    if fs.isfile(root):
        entries = [fs.info(root)]
    else:
        entries = fs.ls(root, detail=True)
    out = []
    for e in entries:
        path = str(e["name"]).rstrip("/")
        name = posixpath.basename(path)
        folder = e.get("type") == "directory"
        if name.startswith(".") or (folder and not _ROLLING.match(name)):
            continue
        in_progress = name.endswith(".inprogress")
        if folder:
            in_progress = not any(
                posixpath.basename(str(p)).startswith("appstatus_")
                and not str(p).endswith(".inprogress")
                for p in fs.ls(path, detail=False)
            )
        out.append(RemoteLog(url=_url(fs, path), name=name, in_progress=in_progress, folder=folder))
    return sorted(out, key=lambda r: r["name"])


def fetch_remote_log(log: RemoteLog, dest: Path, **storage_options: Any) -> Path:
    """Copy one log (file or rolling folder) into the folder ``dest``; its local path."""
    fs, path = filesystem(log["url"], **storage_options)
    target = dest / log["name"]
    if log["folder"]:
        target.mkdir(parents=True, exist_ok=True)
        for p in fs.ls(path, detail=False):
            fs.get(str(p), str(target / posixpath.basename(str(p))))
    else:
        fs.get(path, str(target))
    return target
