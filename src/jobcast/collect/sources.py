"""Locate Spark event-log files and stream their lines, uncompressed or zstd/lz4 compressed."""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jobcast.errors import ImportFormatError, missing_path_reason

__all__ = [
    "EventLogSource",
    "LineStream",
    "find_event_logs",
    "find_application_log",
    "resolve_event_log",
    "codec_of",
    "codec_of_content",
]

logger = logging.getLogger(__name__)

INPROGRESS = ".inprogress"
#: The note on a log Spark is writing that holds no application start yet.
LEFT_OUT = (
    "left out: Spark has not written the application's start yet (it creates the log as "
    "the application starts); import it again later"
)
#: Spark's short codec names, as they appear as file suffixes.
SUPPORTED_CODECS = ("zstd", "lz4")
UNSUPPORTED_CODECS = ("snappy", "lzf")
_CHUNK = 1 << 20
# archive formats users may have packed a log into, by suffix, and how to unpack them
_ARCHIVES = {"gz": "gzip", "gzip": "gzip", "bz2": "bzip2", "xz": "xz"}
_UNPACK = {"gzip": "gunzip", "bzip2": "bunzip2", "xz": "unxz"}
_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"LZ4Block": "lz4",
}
_EVENTS_FILE = re.compile(r"^events_(\d+)_(.+?)(\.[a-z0-9]+)?(\.inprogress)?$")
_NO_SUCH_PATH = "no such file or folder; give a Spark event-log path"
_LZ4_MAGIC = b"LZ4Block"
_LZ4_HEADER = struct.Struct("<BiiI")  # token, compressed length, original length, checksum
_LZ4_RAW = 0x10
_LZ4_COMPRESSED = 0x20


def codec_of(path: Path) -> str | None:
    """Return the compression codec of an event-log file from its name.

    Parameters
    ----------
    path
        An event-log file (``app-1.zstd``, ``events_1_app-1.lz4``, ``app-1.inprogress``...).

    Returns
    -------
    str or None
        ``"zstd"``, ``"lz4"``, ``"snappy"``, ``"lzf"`` or None for an uncompressed log.
    """
    name = path.name
    if name.endswith(INPROGRESS):
        name = name[: -len(INPROGRESS)]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix in ("zst", "zstd"):
        return "zstd"
    if suffix in SUPPORTED_CODECS or suffix in UNSUPPORTED_CODECS:
        return suffix
    return _ARCHIVES.get(suffix)


@dataclass(frozen=True)
class EventLogSource:
    """One Spark application's event log: a single file or a rolling ``eventlog_v2_*`` folder.

    Parameters
    ----------
    path
        The file, or the rolling log's folder, as given.
    files
        The files holding the events, in the order Spark wrote them.
    in_progress
        True when Spark marks the log as still being written (``.inprogress``).
    """

    path: Path
    files: tuple[Path, ...]
    in_progress: bool

    def __post_init__(self) -> None:
        if not self.files:
            raise ImportFormatError(str(self.path), "the event log holds no events files")


def resolve_event_log(path: str | Path) -> EventLogSource:
    """Describe the event log of one application at ``path``.

    Parameters
    ----------
    path
        A single event-log file, or a rolling event-log folder (``eventlog_v2_<app id>``)
        with ``events_<N>_<app id>[.codec]`` files and an ``appstatus_<app id>[.inprogress]``
        marker.

    Returns
    -------
    EventLogSource

    Raises
    ------
    ImportFormatError
        The path does not exist, is not readable, or is a folder that is not a rolling
        event log.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFormatError(str(p), missing_path_reason(p, _NO_SUCH_PATH))
    if p.is_file():
        _check_codec(p)
        return EventLogSource(p, (p,), p.name.endswith(INPROGRESS))
    numbered: list[tuple[int, Path]] = []
    in_progress = False
    status_seen = False
    for child in p.iterdir():
        if child.name.startswith("appstatus_"):
            status_seen = True
            in_progress = child.name.endswith(INPROGRESS)
            continue
        m = _EVENTS_FILE.match(child.name)
        if m and child.is_file():
            _check_codec(child)
            numbered.append((int(m.group(1)), child))
    if not numbered:
        raise ImportFormatError(
            str(p),
            "folder is not a rolling Spark event log (no events_<N>_<app id> files); "
            "give the eventlog_v2_* folder or a single event-log file",
        )
    if not status_seen:
        logger.warning("%s: no appstatus file; reading the events files anyway", p)
    numbered.sort()
    return EventLogSource(p, tuple(f for _, f in numbered), in_progress)


def find_event_logs(path: str | Path) -> list[EventLogSource]:
    """Find every application's event log under ``path``.

    Parameters
    ----------
    path
        An event-log file, a rolling event-log folder, or a folder (such as
        ``spark.eventLog.dir``) holding several of them.

    Returns
    -------
    list of EventLogSource
        Sorted by path.

    Raises
    ------
    ImportFormatError
        Nothing at ``path`` looks like a Spark event log.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFormatError(str(p), missing_path_reason(p, _NO_SUCH_PATH))
    if _just_created(p):
        logger.warning("%s: %s", p, LEFT_OUT)
        return []
    if p.is_file() or any(c.name.startswith("events_") for c in p.iterdir()):
        return [resolve_event_log(p)]
    found: list[EventLogSource] = []
    left_out = False
    for child in sorted(p.iterdir()):
        if child.name.startswith(".") or child.name.endswith(".crc"):
            continue
        if _just_created(child):
            logger.warning("%s: %s", child, LEFT_OUT)
            left_out = True
        elif child.is_dir() and child.name.startswith("eventlog_v2_"):
            found.append(resolve_event_log(child))
        elif child.is_file():
            found.append(resolve_event_log(child))
    if not found and not left_out:
        raise ImportFormatError(str(p), "folder holds no Spark event logs")
    return found


def _just_created(path: Path) -> bool:
    """A rolling log's folder Spark has only just created: in progress, no events file yet."""
    if not (path.is_dir() and path.name.startswith("eventlog_v2_")):
        return False
    names = [c.name for c in path.iterdir()]
    return any(n.startswith("appstatus_") and n.endswith(INPROGRESS) for n in names) and not any(
        _EVENTS_FILE.match(n) for n in names
    )


def spark_safe_name(name: str) -> str:
    """Return ``name`` as Spark writes it into event-log file names (``Utils.sanitizeDirName``)."""
    return re.sub(r"[.${}'\"]", "_", re.sub(r"[ :/]", "-", name)).lower()


def find_application_log(
    folder: str | Path, app_id: str, *, attempt_id: str | None = None
) -> EventLogSource | None:
    """Find the event log Spark writes for one application in ``spark.eventLog.dir``.

    Spark names it ``<app id>[_<attempt>][.<codec>][.inprogress]``, or
    ``eventlog_v2_<app id>[_<attempt>]`` for a rolling log; only these names are looked at
    (no listing of a folder that may hold thousands of logs).

    Parameters
    ----------
    folder
        The ``spark.eventLog.dir`` folder, as a local path.
    app_id
        The application id (``local-1795...``, ``application_17..._0001``).
    attempt_id
        The attempt id, for applications that Spark runs in attempts (YARN cluster mode).

    Returns
    -------
    EventLogSource or None
        None when no such log exists (or the folder does not).

    Raises
    ------
    ImportFormatError
        The log exists but is compressed with a codec jobcast cannot read.
    """
    base = spark_safe_name(app_id)
    if attempt_id:
        base = f"{base}_{spark_safe_name(attempt_id)}"
    root = Path(folder)
    rolling = root / f"eventlog_v2_{base}"
    candidates = [rolling] if rolling.is_dir() else []
    for codec in ("", *(f".{c}" for c in SUPPORTED_CODECS + UNSUPPORTED_CODECS)):
        for state in ("", INPROGRESS):
            path = root / f"{base}{codec}{state}"
            if path.is_file():
                candidates.append(path)
    if not candidates:
        return None
    # a resubmitted application with the same id leaves an older log: take the newest
    newest = max(candidates, key=_mtime)
    return resolve_event_log(newest)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # renamed from .inprogress a moment ago
        return float("-inf")


def _check_codec(path: Path) -> None:
    codec = codec_of(path)
    if codec in UNSUPPORTED_CODECS:
        raise ImportFormatError(
            str(path),
            f"event logs compressed with {codec!r} are not supported; write them with "
            "spark.eventLog.compression.codec=zstd or lz4, or uncompressed",
        )
    if codec is not None and codec in _UNPACK:
        raise ImportFormatError(
            str(path),
            f"the file is {codec}-compressed (Spark does not write {codec} event logs); "
            f"decompress it first ({_UNPACK[codec]} {path.name})",
        )
    if codec is None:
        _check_content(path)


def codec_of_content(head: bytes) -> str | None:
    """Return the compression codec that the first bytes of a file show, or None.

    Parameters
    ----------
    head
        The file's first bytes (8 suffice).

    Returns
    -------
    str or None
        ``"zstd"``, ``"lz4"``, ``"gzip"``, ``"bzip2"``, ``"xz"`` or None when no known
        compression format starts so.
    """
    for magic, codec in _MAGIC.items():
        if head.startswith(magic):
            return codec
    return None


def _check_content(path: Path) -> None:
    """Name the codec of a compressed file whose name does not say it is compressed."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise ImportFormatError(str(path), f"cannot read the event log: {e}") from e
    codec = codec_of_content(head)
    if codec is None:
        return
    fix = (
        f"rename it to end in .{codec}"
        if codec in SUPPORTED_CODECS
        else f"decompress it first ({_UNPACK.get(codec, 'decompress')} {path.name})"
    )
    raise ImportFormatError(
        str(path), f"the content is {codec}-compressed but the name does not say so; {fix}"
    )


class LineStream:
    """Iterate over the raw lines of an event log's files, decompressing as needed.

    A truncated compressed stream (a log still being written) ends the file quietly; the
    cut last line is handed on as it is, and the parser counts it as corrupt.

    Parameters
    ----------
    source
        The log to read.

    Attributes
    ----------
    bytes_read
        Uncompressed bytes handed out so far.
    """

    def __init__(self, source: EventLogSource) -> None:
        self.source = source
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        files = self.source.files
        for k, path in enumerate(files):
            # only the last file of a log Spark is still writing may end mid-stream
            yield from self._lines(path, self.source.in_progress and k == len(files) - 1)

    def _lines(self, path: Path, may_be_cut: bool = True) -> Iterator[bytes]:
        codec = codec_of(path)
        try:
            fh = path.open("rb")
        except OSError as e:
            raise ImportFormatError(str(path), f"cannot read the event log: {e}") from e
        with fh:
            if codec is None:
                first, last, count = b"", b"", 0
                for line in fh:
                    self.bytes_read += len(line)
                    count += 1
                    first = first or line
                    last = line
                    yield line
                cut = not last.endswith(b"\n") and not last.rstrip().endswith(b"}")
                if not may_be_cut and cut and first.startswith(b'{"Event":'):
                    # Spark ends every event with a line break: a cut line is a cut copy
                    raise ImportFormatError(
                        str(path),
                        f"the log ends in a cut line although it is complete (not "
                        f"{INPROGRESS}): the file is damaged; copy it again from the cluster",
                        line=count,
                    )
                return
            chunks = (
                _zstd_chunks(fh, path, may_be_cut)
                if codec == "zstd"
                else _lz4_chunks(fh, path, may_be_cut)
            )
            rest = b""
            for chunk in chunks:
                self.bytes_read += len(chunk)
                if rest:
                    chunk = rest + chunk
                lines = chunk.split(b"\n")
                rest = lines.pop()
                for line in lines:
                    yield line
            if rest:
                yield rest


def _cut(path: Path, codec: str, why: str, may_be_cut: bool) -> None:
    """A compressed stream ends early: fine while Spark writes the log, an error after."""
    if may_be_cut:
        logger.warning("%s: %s stream ends early (%s); log still being written?", path, codec, why)
        return
    raise ImportFormatError(
        str(path),
        f"the {codec} stream is cut short ({why}) although the log is complete (not "
        f"{INPROGRESS}): the file is damaged; copy it again from the cluster",
    )


def _zstd_chunks(fh: BinaryIO, path: Path, may_be_cut: bool = True) -> Iterator[bytes]:
    """Decompress zstd frames one after the other; a frame left open at the end is a cut."""
    import zstandard

    head = fh.read(4)
    if head and head != b"\x28\xb5\x2f\xfd":
        raise ImportFormatError(str(path), "file name says zstd but the content is not zstd")
    fh.seek(0)
    factory = zstandard.ZstdDecompressor()
    dobj = factory.decompressobj()
    pending = False  # input fed into a frame that has not ended yet
    while True:
        data = fh.read(_CHUNK)
        if not data:
            break
        while data:
            try:
                out = dobj.decompress(data)
            except zstandard.ZstdError as e:
                _cut(path, "zstd", str(e), may_be_cut)
                return
            pending = True
            if out:
                yield out
            if not dobj.eof:
                break
            pending = False
            data = dobj.unused_data
            dobj = factory.decompressobj()
    if pending:
        _cut(path, "zstd", "its last frame has no end", may_be_cut)


def _lz4_chunks(fh: BinaryIO, path: Path, may_be_cut: bool = True) -> Iterator[bytes]:
    """Decode lz4-java's ``LZ4BlockOutputStream`` framing, which Spark's lz4 codec writes.

    Each block is ``"LZ4Block"``, a token (method | level), the compressed and original
    lengths and an xxhash32 checksum (little endian), then the data; an empty block ends a
    stream and streams may follow each other. The checksum is not verified (no xxhash in
    the dependencies); a broken block shows up as a decoding error instead.
    """
    import lz4.block

    reader = fh
    first = True
    while True:
        magic = reader.read(8)
        if not magic:
            return
        if magic != _LZ4_MAGIC:
            if first:
                raise ImportFormatError(
                    str(path), "file name says lz4 but the content is not Spark's lz4 framing"
                )
            _cut(path, "lz4", "a partial block", may_be_cut)
            return
        first = False
        header = reader.read(_LZ4_HEADER.size)
        if len(header) < _LZ4_HEADER.size:
            _cut(path, "lz4", "a partial block header", may_be_cut)
            return
        token, clen, olen, _checksum = _LZ4_HEADER.unpack(header)
        method = token & 0xF0
        if clen < 0 or olen < 0 or method not in (_LZ4_RAW, _LZ4_COMPRESSED):
            raise ImportFormatError(
                str(path), "corrupt lz4 block header: the lz4-compressed log is damaged"
            )
        data = reader.read(clen)
        if len(data) < clen:
            _cut(path, "lz4", "a partial block", may_be_cut)
            return
        if olen == 0:
            continue
        if method == _LZ4_RAW:
            yield data
            continue
        try:
            yield lz4.block.decompress(data, uncompressed_size=olen)
        except lz4.block.LZ4BlockError as e:
            raise ImportFormatError(
                str(path), f"corrupt lz4 block ({e}): the lz4-compressed log is damaged"
            ) from e
