"""Import dool/dstat CSV files (``--output file.csv``) as hardware-sample frames."""

from __future__ import annotations

import csv
import logging
import math
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pandas as pd

from jobcast.collect.hardware import HARDWARE_COLUMNS, typed_node_frame
from jobcast.errors import ImportFormatError

__all__ = ["read_dool"]

logger = logging.getLogger(__name__)

_CPU_GROUPS = ("total cpu usage", "total usage", "cpu usage")


def _to_float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ImportFormatError(
            str(path), f"not a number: {text!r}", line=line, column=column
        ) from None
    if not math.isfinite(value) or value < 0:
        raise ImportFormatError(
            str(path), f"must be a finite number >= 0, got {text!r}", line=line, column=column
        )
    return value


def read_dool(
    path: str | Path,
    *,
    execution: str | None = None,
    node: str | None = None,
    tz: tzinfo = UTC,
) -> pd.DataFrame:
    """Read a dool or dstat CSV file into a hardware-sample frame.

    The file starts with dool's/dstat's banner lines (``"Host:"``, ``"Date:"``...), then two
    header rows: the column groups (``"total cpu usage"``, ``"dsk/total"``,
    ``"net/total"``...) and their columns (``usr``, ``idl``, ``read``, ``writ``, ``recv``,
    ``send``...). The time comes from an ``epoch`` column (``dool -T``) or from a ``time``
    column (``dd-mm HH:MM:SS``, the year taken from the ``Date:`` banner).

    Derivations: ``cpu = 100 - idl`` of the total cpu group; ``disk_read``/``disk_write``
    are ``read``/``writ`` of ``dsk/total`` (or the sum over ``dsk/<device>`` groups);
    ``net_rx``/``net_tx`` are ``recv``/``send`` of ``net/total`` (or the sum over
    interfaces). A group that is missing gives zeros, except cpu, which is required.

    Parameters
    ----------
    path
        The CSV file.
    execution
        Execution id to put in the ``execution`` column.
    node
        Node name; the ``Host:`` banner's when None.
    tz
        Time zone of a ``time`` column (dool writes local time); ignored for ``epoch``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`jobcast.collect.hardware.HARDWARE_COLUMNS`.

    Raises
    ------
    ImportFormatError
        The file is unreadable, has no dool/dstat header, lacks a time or cpu column, or a
        row holds a value that is not a number >= 0 (a cut last row is skipped instead).
    """
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8", errors="replace") as fh:
            rows = list(csv.reader(fh))
    except OSError as e:
        raise ImportFormatError(str(p), f"cannot read the file: {e}") from e
    host: str | None = None
    year: int | None = None
    header_at = None
    for i, row in enumerate(rows):
        if not row:
            continue
        first = row[0].strip()
        if first == "Host:" and len(row) > 1:
            host = row[1].strip() or None
        if "Date:" in row:
            idx = row.index("Date:")
            if idx + 1 < len(row):
                parts = row[idx + 1].split()
                year = next((int(x) for x in parts if x.isdigit() and len(x) == 4), None)
        if first in ("epoch", "time", "system") and i + 1 < len(rows):
            header_at = i
            break
    if header_at is None or header_at + 1 >= len(rows):
        raise ImportFormatError(
            str(p),
            "no dool/dstat header (a row of column groups such as 'epoch'/'system', "
            "'total cpu usage', 'dsk/total', then a row of columns); write the file with "
            "`dool -T --cpu --disk --net --output FILE.csv`",
            line=1,
        )
    groups_row, columns_row = rows[header_at], rows[header_at + 1]
    groups: list[str] = []
    current = ""
    for g in groups_row:
        current = g.strip() or current
        groups.append(current)
    groups += [current] * (len(columns_row) - len(groups))
    cols = [(groups[j], c.strip()) for j, c in enumerate(columns_row)]

    def find(group_pred: object, name: str) -> list[int]:
        return [
            j
            for j, (g, c) in enumerate(cols)
            if c == name and callable(group_pred) and group_pred(g)
        ]

    time_idx = [j for j, (_, c) in enumerate(cols) if c in ("epoch", "time")]
    if not time_idx:
        raise ImportFormatError(
            str(p), "no 'epoch' or 'time' column; run dool with -T or -t", line=header_at + 2
        )
    t_col = time_idx[0]
    epoch = cols[t_col][1] == "epoch"
    idle = find(lambda g: g in _CPU_GROUPS, "idl")
    if not idle:
        raise ImportFormatError(
            str(p),
            "no total cpu usage column 'idl'; run dool with --cpu",
            line=header_at + 2,
        )

    def device_columns(prefix: str, name: str) -> list[int]:
        total = find(lambda g: g == f"{prefix}/total", name)
        if total:
            return total
        return find(lambda g: g.startswith(f"{prefix}/"), name)

    wanted = {
        "disk_read": device_columns("dsk", "read"),
        "disk_write": device_columns("dsk", "writ"),
        "net_rx": device_columns("net", "recv"),
        "net_tx": device_columns("net", "send"),
    }
    for key, found in wanted.items():
        if not found:
            logger.warning("%s: no %s column; it is reported as 0", p, key)

    out: dict[str, list[object]] = {c: [] for c in HARDWARE_COLUMNS[2:]}
    data_rows = rows[header_at + 2 :]
    width = len(columns_row)
    for k, row in enumerate(data_rows):
        line = header_at + 3 + k
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < width:
            if k == len(data_rows) - 1:
                logger.warning(
                    "%s: line %d is cut short (file still being written); skipped", p, line
                )
                continue
            raise ImportFormatError(
                str(p), f"row has {len(row)} fields, the header {width}", line=line
            )
        out["timestamp"].append(_timestamp(p, line, row[t_col], epoch=epoch, year=year, tz=tz))
        idl = _to_float(p, line, "idl", row[idle[0]])
        out["cpu"].append(min(max(100.0 - idl, 0.0), 100.0))
        for key, found in wanted.items():
            out[key].append(sum(_to_float(p, line, cols[j][1], row[j]) for j in found))
    return typed_node_frame(pd.DataFrame(out), node=node or host or p.stem, execution=execution)


_LAST_EPOCH = 253_402_300_799  # 9999-12-31 23:59:59 UTC


def _timestamp(
    path: Path, line: int, text: str, *, epoch: bool, year: int | None, tz: tzinfo
) -> datetime:
    text = text.strip()
    if epoch:
        seconds = _to_float(path, line, "epoch", text)
        if not 0 <= seconds <= _LAST_EPOCH:
            raise ImportFormatError(
                str(path),
                f"epoch {text!r} is not a time between 1970 and 9999 (seconds since "
                "1970-01-01 UTC); check the column",
                line=line,
                column="epoch",
            )
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    y = year if year is not None else datetime.now(UTC).year
    for fmt in ("%d-%m %H:%M:%S", "%b-%d %H:%M:%S", "%d-%m %H:%M:%S.%f"):
        try:
            t = datetime.strptime(f"{y} {text}", f"%Y {fmt}")
        except ValueError:
            continue
        return t.replace(tzinfo=tz).astimezone(UTC)
    raise ImportFormatError(
        str(path), f"time {text!r} is not in dool's 'dd-mm HH:MM:SS' form", line=line, column="time"
    )
