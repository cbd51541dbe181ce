"""Reading delimited trace files with the line number of every row kept for error messages."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobcast.errors import ImportFormatError, InputError, missing_path_reason
from jobcast.history.importers.cells import bad_cell, cell_number, check_separator

if TYPE_CHECKING:
    from _csv import Reader

__all__ = [
    "RawTable",
    "read_table",
    "parse_number",
    "require_header_column",
    "checked_file",
    "data_records",
    "file_separator",
    "not_utf8",
    "read_header",
]


@dataclass(frozen=True)
class RawTable:
    """A delimited file as text cells: header, rows, and each row's line number."""

    path: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]

    def column(self, name: str) -> list[str]:
        """Cells of column ``name`` in row order."""
        i = self.header.index(name)
        return [r[i] for r in self.rows]

    def require_column(self, name: str, *, option: str | None = None) -> int:
        """Index of the one column called ``name``; raises a helpful error otherwise."""
        return require_header_column(self.path, self.header, name, option=option)


def require_header_column(
    path: str, header: Sequence[str], name: str, *, option: str | None = None
) -> int:
    """Index of the one column of ``header`` called ``name``; a helpful error otherwise.

    Raises
    ------
    ImportFormatError
        When ``header`` has no such column (naming ``option``, which picks another) or
        has it more than once.
    """
    count = header.count(name)
    if count == 0:
        hint = f" or name the right one with {option}" if option else ""
        raise ImportFormatError(
            path,
            f"there is no column {name!r}; the header has {list(header)}. Add the column{hint}.",
            line=1,
        )
    if count > 1:
        raise ImportFormatError(
            path,
            f"column {name!r} appears {count} times in the header; rename or remove the duplicates",
            line=1,
            column=name,
        )
    return header.index(name)


def checked_file(path: str | Path) -> Path:
    """``path`` as a file to read; a clear error for a directory or a missing file."""
    p = Path(path)
    if p.is_dir():
        raise ImportFormatError(str(p), "is a directory, not a file; pass the trace file itself")
    if not p.is_file():
        raise ImportFormatError(str(p), missing_path_reason(p, "no such file; check the path"))
    return p


#: What a file that is not text starts with, and how to make a CSV of it.
_NOT_TEXT = (
    (b"\x1f\x8b", "gzip-compressed, not text: decompress it first (zcat FILE | jobcast ... -)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed, not text: decompress it first (zstdcat FILE | ...)"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?): export the sheet as UTF-8 CSV"),
    (b"\xff\xfe", "UTF-16 text, not UTF-8: save it as UTF-8 CSV"),
    (b"\xfe\xff", "UTF-16 text, not UTF-8: save it as UTF-8 CSV"),
)


def not_utf8(p: Path, e: UnicodeDecodeError) -> ImportFormatError:
    """The error for a file that is not UTF-8 text (naming compression or UTF-16)."""
    head = b""
    try:  # the file's own start (a chunk read later may be anywhere in it)
        if p.is_file():
            with p.open("rb") as f:
                head = f.read(4)
    except OSError:
        pass
    if not head and isinstance(e.object, bytes | bytearray):  # standard input's first chunk
        head = bytes(e.object[:4])
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            return ImportFormatError(str(p), f"the file is {what}")
    return ImportFormatError(str(p), f"not UTF-8 text (byte {e.start}); save the file as UTF-8 CSV")


def _sniff_separator(path: Path, first_line: str) -> str:
    if path.suffix.lower() in {".tsv", ".tab"}:
        return "\t"
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else ","


def file_separator(path: Path, first_line: str, sep: str | None) -> str:
    """The field separator of a file starting with ``first_line``: ``sep``, or a guess.

    Raises
    ------
    ImportFormatError
        When the first line is blank (an empty file).
    """
    if not first_line.strip():
        raise ImportFormatError(
            str(path), "the file is empty; it needs a header line and at least one row", line=1
        )
    return sep or _sniff_separator(path, first_line)


def read_header(path: str, reader: Reader, *, dedupe: bool = False) -> tuple[str, ...]:
    """The column names in the next record of ``reader`` (``dedupe``: see :func:`read_table`).

    Raises
    ------
    ImportFormatError
        When a header field has no name, or the record is malformed CSV.
    """
    try:
        header = tuple(f.strip() for f in next(reader))
    except csv.Error as e:
        raise ImportFormatError(path, f"malformed CSV: {e}", line=reader.line_num) from e
    if dedupe:
        header = _dedupe(header)
    empty = [i + 1 for i, h in enumerate(header) if not h]
    if empty:
        raise ImportFormatError(
            path, f"header field(s) {empty} have no name; name every column", line=1
        )
    return header


def data_records(
    path: str,
    reader: Reader,
    *,
    width: int,
    separator: str,
    before: int,
    header: Sequence[str] | None = None,
    sep_option: str | None = "--sep",
) -> Iterator[tuple[int, list[str]]]:
    """The records of ``reader`` (a ``csv.reader``) that are not blank, with their line.

    ``before`` is the number of physical lines of the file before the reader's first
    one; a record's line is the physical line it starts on (quoted fields span lines).
    A record equal to ``header`` (files joined with their headers) is refused as one.
    ``sep_option`` is the caller's option that sets the separator, which a row with
    another number of fields than the header is told to check; None when the caller has
    none (the separator is guessed from the header line): the row is told to fix itself.

    Raises
    ------
    ImportFormatError
        For a record with another number of fields than ``width``, a repeated header,
        malformed CSV, or a file without any record.
    """
    end = before + reader.line_num
    found = False
    try:
        for fields in reader:
            start, end = end + 1, before + reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != width:
                raise ImportFormatError(
                    path,
                    f"{len(fields)} fields but the header has {width} "
                    f"(separator {separator!r}); {_fix_width(width, separator, sep_option)}",
                    line=start,
                )
            if header is not None and fields[0].strip() == header[0]:
                if tuple(f.strip() for f in fields) == tuple(header):
                    raise ImportFormatError(
                        path,
                        "this line repeats the header line (files joined with their "
                        "headers?); remove it",
                        line=start,
                    )
            found = True
            yield start, fields
    except csv.Error as e:
        raise ImportFormatError(path, f"malformed CSV: {e}", line=before + reader.line_num) from e
    if not found:
        raise ImportFormatError(
            path,
            "the file has a header but no data rows; add a row per execution (per iteration "
            "in a trace)",
            line=2,
        )


def _fix_width(width: int, separator: str, sep_option: str | None) -> str:
    """How to fix a row with another number of fields than the header's ``width``."""
    if sep_option is not None:
        return f"fix the row or the separator ({sep_option})"
    return (
        f"fix the row: every row needs {width} fields separated by {separator!r}, the "
        "header line's separator (quote a field that holds it)"
    )


def _separator(sep: str | None) -> str | None:
    """The field separator asked for: one character; a typed backslash-t means a tab."""
    if sep is None:
        return None
    named = {"\\t": "\t", "tab": "\t", "\\s": " ", "space": " "}
    sep = named.get(sep, sep)
    if len(sep) != 1:
        raise InputError(
            f"--sep {sep!r}: the separator must be one character (',', ';', '|', or '\\t' "
            "for tab); convert multi-character separators first, e.g. sed 's/::/,/g'"
        )
    if sep in '"\r\n' or sep.isalnum():
        raise InputError(f"--sep {sep!r} cannot separate fields; use ',', ';', '|' or '\\t'")
    return sep


def _dedupe(header: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        n = seen.get(h, 0)
        out.append(h if n == 0 else f"{h}.{n}")
        seen[h] = n + 1
    return tuple(out)


def read_table(
    path: str | Path,
    *,
    sep: str | None = None,
    dedupe: bool = False,
    comma: bool = False,
    sep_option: str | None = "--sep",
) -> RawTable:
    """Read a delimited text file with a header line.

    Parameters
    ----------
    path
        The file.
    sep
        Field separator; guessed from the extension and the header when None.
    dedupe
        Rename repeated header names to ``NAME.1``, ``NAME.2`` (as pandas does) instead of
        keeping them, so that each can be addressed.
    comma
        Whether its numbers are written with decimal commas (``--decimal ,``), which
        needs another field separator than ``,``.
    sep_option
        The caller's option that gives ``sep``, named in the error for a row with
        another number of fields than the header; None when it has none.

    Raises
    ------
    ImportFormatError
        When the file is missing, empty, has no data rows, or a row has a different
        number of fields than the header (with the line number); decimal commas in a
        file separated by commas.
    """
    p = checked_file(path)
    sep = _separator(sep)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise not_utf8(p, e) from e
    lines = text.splitlines()
    separator = file_separator(p, lines[0] if lines else "", sep)
    check_separator(str(p), separator, comma=comma)
    reader = csv.reader(lines, delimiter=separator)
    header = read_header(str(p), reader, dedupe=dedupe)
    rows: list[tuple[str, ...]] = []
    numbers: list[int] = []
    records = data_records(
        str(p), reader, width=len(header), separator=separator, before=0, sep_option=sep_option
    )
    for lineno, fields in records:
        rows.append(tuple(f.strip() for f in fields))
        numbers.append(lineno)
    return RawTable(str(p), header, tuple(rows), tuple(numbers))


def parse_number(
    table: RawTable,
    column: str,
    values: Sequence[str],
    *,
    positive: bool = False,
    non_negative: bool = False,
    integer: bool = False,
    what: str = "value",
    comma: bool = False,
) -> list[float]:
    """Parse the cells of one column as finite numbers, naming the line of a bad cell.

    Cells read as in every importer (:mod:`jobcast.history.importers.cells`): with
    ``comma`` (``--decimal ,``) a decimal comma is a decimal point; without it, a decimal
    comma is refused with that hint.

    Raises
    ------
    ImportFormatError
        Naming file, line and column: a cell that is no finite number, or one that is
        not > 0 (``positive``), not >= 0 (``non_negative``) or not whole (``integer``).
    """
    out: list[float] = []
    for cell, line in zip(values, table.lines, strict=True):
        x = cell_number(cell, comma=comma)
        if x is None or not math.isfinite(x):
            problem = bad_cell(cell, column=column, what=what, comma=comma)
            raise ImportFormatError(table.path, problem, line=line, column=column)
        if positive and not x > 0:
            problem = f"{what} must be > 0, got {cell!r}"
        elif non_negative and x < 0:
            problem = f"{what} must be >= 0, got {cell!r}"
        elif integer and not x.is_integer():
            problem = f"{what} must be a whole number, got {cell!r}"
        else:
            out.append(x)
            continue
        raise ImportFormatError(table.path, problem, line=line, column=column)
    return out
