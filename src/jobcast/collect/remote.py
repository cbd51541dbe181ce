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

    if url.startswith("s3://") and "config_kwargs" not in storage_options:
        # fail within seconds, not after botocore's minute of retries, when the
        # endpoint cannot be reached
        storage_options = {
            **storage_options,
            "config_kwargs": {"connect_timeout": 5, "retries": {"max_attempts": 2}},
        }
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


def _explain(url: str, e: Exception) -> InputError:
    """One line saying why ``url`` cannot be read, and how to fix it."""
    kind = type(e).__name__
    text = " ".join(str(e).split())
    if "Credentials" in kind or "credentials" in text.lower():
        fix = (
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile) for the "
            "store holding the logs"
        )
    elif "Endpoint" in kind or "connect" in text.lower():
        fix = (
            "check AWS_ENDPOINT_URL (for S3-compatible stores) and that the store is "
            "reachable from here"
        )
    elif isinstance(e, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        fix = "the credentials may not read it: check them and the bucket's policy"
    else:
        fix = "check the URL, the credentials and that the store is reachable"
    return InputError(f"cannot read {url}: {text or kind}; {fix}")


def _store_error(e: Exception) -> bool:
    """Whether ``e`` comes from the store (network, credentials), not from a bug here."""
    module = type(e).__module__
    return isinstance(e, OSError) or module.startswith(("botocore", "aiobotocore", "s3fs"))


def list_remote_logs(url: str, **storage_options: Any) -> list[RemoteLog]:
    """Event logs directly under ``url`` (a prefix) or ``url`` itself, by name.

    Raises
    ------
    InputError
        When nothing exists at ``url``, or the store cannot be read (no endpoint, no
        credentials): one line saying how to fix it.
    """
    try:
        return _list(url, **storage_options)
    except Exception as e:
        if isinstance(e, InputError | MissingExtraError) or not _store_error(e):
            raise
        raise _explain(url, e) from e


def _list(url: str, **storage_options: Any) -> list[RemoteLog]:
    fs, root = filesystem(url, **storage_options)
    root = root.rstrip("/")
    fs.invalidate_cache(root)  # fsspec caches listings: a prefix read before has changed
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
    """Copy one log (file or rolling folder) into the folder ``dest``; its local path.

    Raises
    ------
    InputError
        When the store cannot be read (the log's URL named).
    """
    try:
        return _fetch(log, dest, **storage_options)
    except Exception as e:
        if isinstance(e, InputError | MissingExtraError) or not _store_error(e):
            raise
        raise _explain(str(log["url"]), e) from e


def _fetch(log: RemoteLog, dest: Path, **storage_options: Any) -> Path:
    fs, path = filesystem(log["url"], **storage_options)
    target = dest / log["name"]
    if log["folder"]:
        target.mkdir(parents=True, exist_ok=True)
        for p in fs.ls(path, detail=False):
            fs.get(str(p), str(target / posixpath.basename(str(p))))
    else:
        fs.get(path, str(target))
    return target
