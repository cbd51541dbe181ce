"""Reading and following Spark event logs: files in, one application's iterations out.

The parsing itself is :mod:`jobcast.collect.parser`; how jobs form iterations is
:mod:`jobcast.collect.grouping`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pandas as pd

from jobcast.collect.grouping import (
    DEFAULT_ITERATIONS,
    IterationMode,
    IterationRule,
    iteration_regex,
    no_iteration_found,
)
from jobcast.collect.parser import EventLogParser
from jobcast.collect.runs import ApplicationRun
from jobcast.collect.sources import (
    LEFT_OUT,
    EventLogSource,
    LineStream,
    codec_of,
    find_event_logs,
    resolve_event_log,
)
from jobcast.collect.spark_env import CONTEXT_PREFIX, SparkSettings, local_threads
from jobcast.errors import ImportFormatError

__all__ = [
    "CONTEXT_PREFIX",
    "IterationMode",
    "iteration_regex",
    "EventLogImport",
    "EventLogParser",
    "EventLogFollower",
    "read_event_log",
    "read_event_logs",
    "local_threads",
    "SparkSettings",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventLogImport:
    """What one application's event log yields.

    Parameters
    ----------
    path
        The event log (file or rolling folder).
    run
        Summary of the application.
    iterations
        One row per completed iteration; columns
        :data:`jobcast.collect.runs.ITERATION_COLUMNS` and
        :data:`jobcast.collect.runs.EXTRA_ITERATION_COLUMNS`.
    corrupt_lines
        Lines that could not be parsed and were skipped (a cut last line included).
    lines
        Lines read.
    bytes_read
        Uncompressed bytes read.
    context
        Context attributes the application carries (``spark.jobcast.context.*``).
    lost_jobs
        Spark jobs of the ended application whose start or end line is missing
        (corrupt): the iterations they belong to are missing or cut short.
    no_iteration
        Why the ended application has no iteration although it ran Spark jobs: the
        ``iterations`` choice left them all out (what the log has and what to try);
        None otherwise.
    """

    path: Path
    run: ApplicationRun
    iterations: pd.DataFrame = field(repr=False)
    corrupt_lines: int
    lines: int
    bytes_read: int
    context: Mapping[str, float | str] = field(default_factory=dict)
    lost_jobs: int = 0
    no_iteration: str | None = None


def _warn_corrupt(name: str, count: int, in_progress: bool = True) -> None:
    if count:
        logger.warning(
            "%s: skipped %d corrupt line%s (unparseable events%s)",
            name,
            count,
            "" if count == 1 else "s",
            "; a log still being written ends in a cut line" if in_progress else "",
        )


def read_event_log(
    path: str | Path | EventLogSource,
    *,
    iterations: IterationMode = DEFAULT_ITERATIONS,
    callback: Callable[[int], None] | None = None,
) -> EventLogImport:
    """Read one Spark application's event log.

    Parameters
    ----------
    path
        A single event-log file (uncompressed, ``.zstd`` or ``.lz4``, possibly
        ``.inprogress``) or a rolling ``eventlog_v2_*`` folder.
    iterations
        How Spark jobs form iterations: ``"auto"``, ``"jobs"``, ``"job-groups"`` or a regular
        expression (see :data:`IterationMode`).
    callback
        Called with the uncompressed bytes read so far, every 16 MiB and at the end.

    Returns
    -------
    EventLogImport

    Raises
    ------
    ImportFormatError
        The path is missing or unreadable, compressed with an unsupported codec, or holds
        no application start event.
    InputError
        ``iterations`` is not a valid mode or regular expression.

    Examples
    --------
    >>> result = read_event_log("spark-events/eventlog_v2_local-1", iterations="job-groups")
    ... # doctest: +SKIP
    >>> result.iterations[["iteration", "duration_s", "scale_out"]]  # doctest: +SKIP
    """
    source = path if isinstance(path, EventLogSource) else resolve_event_log(path)
    parser, found = _read(source, iterations, callback)
    if found is None:
        raise _no_start(parser, source)
    return found


def _no_start(parser: EventLogParser, source: EventLogSource) -> ImportFormatError:
    """The error for a log without an application start: its codec and state named."""
    codecs = sorted({c for c in map(codec_of, source.files) if c is not None})
    packed = f" in the {'/'.join(codecs)}-compressed log" if codecs else ""
    read = f"{parser.lines} line(s) {'decompressed' if codecs else 'read'}"
    if source.in_progress:
        return ImportFormatError(
            parser.name,
            f"no SparkListenerApplicationStart event yet{packed} ({read}; Spark is still "
            "writing it and writes the start as the application starts): read it again later",
        )
    if codecs:
        return ImportFormatError(
            parser.name, f"no SparkListenerApplicationStart event{packed} ({read})"
        )
    if _damaged(parser):
        assert parser.first_corrupt is not None
        line, why = parser.first_corrupt
        return ImportFormatError(
            parser.name,
            f"no SparkListenerApplicationStart event could be read: {parser.corrupt_lines} "
            f"line(s) are damaged, the first at line {line} ({why}), and it may have held "
            "it; a log damaged there cannot be imported (is this a Spark event log?)",
        )
    return ImportFormatError(
        parser.name, "no SparkListenerApplicationStart event; is this a Spark event log?"
    )


def _damaged(parser: EventLogParser) -> bool:
    """Whether the log holds Spark events beside lines that could not be read."""
    return parser.first_corrupt is not None and parser.lines > parser.corrupt_lines


def _read(
    source: EventLogSource,
    iterations: IterationMode,
    callback: Callable[[int], None] | None,
) -> tuple[EventLogParser, EventLogImport | None]:
    """Read one log; None (with the parser) when it holds no application start event."""
    parser = EventLogParser(iterations=iterations, name=str(source.path))
    stream = LineStream(source)
    settings = SparkSettings()
    parser.feed_lines(settings.scan(stream), callback=callback)
    if parser.app_id is None or parser.start_ms is None:
        if source.in_progress or not any(codec_of(f) for f in source.files):
            return parser, None  # compressed or not, Spark may not have written it yet
        raise _no_start(parser, source)  # a finished compressed log: not one of Spark's
    _warn_corrupt(parser.name, parser.corrupt_lines, source.in_progress)
    run = parser.application_run()
    lost = parser.lost_jobs
    if lost:
        logger.warning(
            "%s: %d Spark job(s) of the finished application lack their start or end "
            "(corrupt lines): the iterations they belong to are missing and the later "
            "ones numbered on; copy the log again from the cluster if it was damaged",
            parser.name,
            lost,
        )
    frame = parser.iterations_frame()
    empty = run.completed and frame.empty
    return parser, EventLogImport(
        path=source.path,
        run=run,
        iterations=settings.localised(frame),
        corrupt_lines=parser.corrupt_lines,
        lines=parser.lines,
        bytes_read=stream.bytes_read,
        context=settings.context,
        lost_jobs=lost,
        no_iteration=no_iteration_found(parser.mode, parser.labels) if empty else None,
    )


def read_event_logs(
    paths: Iterable[str | Path],
    *,
    iterations: IterationMode = DEFAULT_ITERATIONS,
    callback: Callable[[int], None] | None = None,
    origins: Mapping[str, str] | None = None,
) -> list[EventLogImport]:
    """Read every application's event log found at ``paths``.

    Every log is read before anything is returned. A log Spark is still writing
    (``.inprogress``) that holds no application start yet (Spark creates it as the
    application starts) is left out with a note; files that are no Spark event logs
    (no application start) are named together in one error.

    Parameters
    ----------
    paths
        Event-log files, rolling folders, or folders holding several logs (such as
        ``spark.eventLog.dir``).
    iterations
        See :func:`read_event_log`.
    callback
        Called with the uncompressed bytes read so far over all logs.
    origins
        Where local logs were copied from (``s3://...``), by local path: errors name
        the origin instead of the copy.

    Returns
    -------
    list of EventLogImport
        One per application, in the order found.

    Raises
    ------
    ImportFormatError
        A log cannot be read, or files are no Spark event logs (all of them named).
    """
    names = dict(origins or {})
    results: list[EventLogImport] = []
    not_logs: list[str] = []
    done = 0
    for p in paths:
        for source in _found(p, names):
            base = done
            cb = None if callback is None else (lambda n, base=base: callback(base + n))
            try:
                parser, result = _read(source, iterations, cb)
                if result is None and not source.in_progress and _damaged(parser):
                    raise _no_start(parser, source)  # a log, damaged where its start was
            except ImportFormatError as e:
                _raise_renamed(e, names)
            shown = _origin(str(source.path), names)
            if result is None:
                if source.in_progress:
                    logger.warning("%s: %s", shown, LEFT_OUT)
                else:
                    not_logs.append(shown)
                continue
            done += result.bytes_read
            results.append(result)
    if not_logs:
        raise ImportFormatError(
            ", ".join(not_logs),
            ("not a Spark event log" if len(not_logs) == 1 else "not Spark event logs")
            + " (no SparkListenerApplicationStart event); nothing was imported: move such "
            "files out of the folder or give the event logs one by one",
        )
    return results


def _found(path: str | Path, names: Mapping[str, str]) -> list[EventLogSource]:
    try:
        return find_event_logs(path)
    except ImportFormatError as e:
        _raise_renamed(e, names)


def _origin(path: str, names: Mapping[str, str]) -> str:
    """``path`` as where it came from: a local copy's file named by its remote URL."""
    for local, remote in names.items():
        if path == local:
            return remote
        if path.startswith(local.rstrip("/") + "/"):
            return remote.rstrip("/") + path[len(local.rstrip("/")) :]
    return path


def _raise_renamed(e: ImportFormatError, names: Mapping[str, str]) -> NoReturn:
    shown = _origin(e.path, names)
    if shown == e.path:
        raise e
    raise ImportFormatError(shown, e.reason, line=e.line, column=e.column) from e


class EventLogFollower:
    """Follow an event log that Spark is still writing and hand out newly finished iterations.

    The iterations of a local-mode application have its worker threads as their
    scale-out (see :func:`local_threads`), as ``jobcast workloads run`` records them.

    Uncompressed logs (single files and rolling folders) are read incrementally from where
    the previous poll stopped; compressed logs are read again from the start at each poll
    (their streams cannot be resumed), which the parser's speed makes affordable.

    Parameters
    ----------
    path
        The event-log file or rolling folder; a path without its ``.inprogress`` suffix
        also finds the in-progress file, and the file is found again after Spark renames it.
    iterations
        See :func:`read_event_log`.

    Attributes
    ----------
    settings
        The application's Spark settings, once its environment event was read.
    """

    def __init__(self, path: str | Path, *, iterations: IterationMode = DEFAULT_ITERATIONS) -> None:
        self.path = Path(path)
        self.iterations = iterations
        self._parser = EventLogParser(iterations=iterations, name=str(self.path))
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, bytes] = {}
        self._reported: set[str] = set()
        self.settings = SparkSettings()

    @property
    def local_threads(self) -> int | None:
        """Worker threads of a local-mode application (see :func:`local_threads`)."""
        return self.settings.local_threads

    @property
    def context(self) -> dict[str, float | str]:
        """Context attributes the application carries (:attr:`SparkSettings.context`)."""
        return self.settings.context

    @property
    def rule(self) -> IterationRule:
        """How iterations are found (``auto`` says which it chose once it has seen jobs)."""
        return self._parser.rule

    def _source(self) -> EventLogSource:
        p = self.path
        if not p.exists():
            alt = (
                p.with_name(p.name[: -len(".inprogress")])
                if p.name.endswith(".inprogress")
                else p.with_name(p.name + ".inprogress")
            )
            if alt.exists():
                self.path = p = alt
        return resolve_event_log(p)

    def poll(self) -> pd.DataFrame:
        """Read what was appended and return the iterations finished since the last poll."""
        source = self._source()
        compressed = any(codec_of(f) is not None for f in source.files)
        if compressed:
            self._parser = EventLogParser(iterations=self.iterations, name=str(self.path))
            self._parser.feed_lines(self.settings.scan(LineStream(source)))
        else:
            for f in source.files:
                self._read_new(f)
        frame = self._parser.iterations_frame()
        new = frame[~frame["label"].isin(self._reported)].reset_index(drop=True)
        self._reported.update(new["label"].tolist())
        return self.settings.localised(new)

    def _read_new(self, f: Path) -> None:
        # Spark renames "x.inprogress" to "x" at the end: keep the offset across the rename
        key = f.name[: -len(".inprogress")] if f.name.endswith(".inprogress") else f.name
        offset = self._offsets.get(key, 0)
        try:
            with f.open("rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except OSError as e:
            raise ImportFormatError(str(f), f"cannot read the event log: {e}") from e
        if not data:
            return
        self._offsets[key] = offset + len(data)
        lines = (self._partial.pop(key, b"") + data).split(b"\n")
        tail = lines.pop()
        if tail:
            self._partial[key] = tail
        for line in self.settings.scan(lines):
            self._parser.feed(line)

    @property
    def run(self) -> ApplicationRun:
        """The application as read so far."""
        return self._parser.application_run()

    @property
    def completed(self) -> bool:
        """True once the application ended."""
        return self._parser.completed

    @property
    def corrupt_lines(self) -> int:
        """Corrupt lines skipped so far."""
        return self._parser.corrupt_lines
