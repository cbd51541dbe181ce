"""Streaming a delimited file of executions into typed columns, for imports of any size.

The file is read record by record (never whole); numeric columns are kept as 8-byte
floats and text columns as shared (interned) strings, so memory grows with the number
of rows by a few tens of bytes, not with the text of the file. Whether a column holds
numbers is decided by its first :data:`TYPE_ROWS` rows; later text in a numeric column
is refused with its line.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from jobcast.errors import ImportFormatError
from jobcast.history.importers.cells import (
    TYPE_ROWS,
    bad_cell,
    cell_number,
    check_separator,
    comma_decimal,
    is_number,
    starts_text,
    text_column_problem,
)
from jobcast.history.importers.kinds import infer_attribute
from jobcast.history.importers.roles import check_kinds, check_roles
from jobcast.history.importers.tabular import (
    _separator,
    checked_file,
    data_records,
    file_separator,
    not_utf8,
    read_header,
    require_header_column,
)
from jobcast.history.importers.units import seconds_per
from jobcast.history.records import (
    AttributeKind,
    ExecutionTable,
    JobSpec,
    Provenance,
)
from jobcast.history.values import MAX_SCALE_OUT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ColumnTable", "read_columns", "executions_from_columns", "TYPE_ROWS"]


@dataclass
class _Column:
    name: str
    numbers: array[float] = field(default_factory=lambda: array("d"))
    texts: list[str] | None = None
    # cells of a numeric column that are not numbers: row -> text (the first few)
    odd: dict[int, str] = field(default_factory=dict)
    odd_count: int = 0


@dataclass
class ColumnTable:
    """A delimited file as typed columns and the physical line of every row."""

    path: str
    header: tuple[str, ...]
    columns: dict[str, _Column]
    lines: array[int]
    #: whether numbers were read with decimal commas (``--decimal ,``)
    comma: bool = False

    def __len__(self) -> int:
        return len(self.lines)

    def require(self, name: str, *, option: str | None = None) -> _Column:
        """The one column called ``name``; a helpful error otherwise."""
        require_header_column(self.path, self.header, name, option=option)
        return self.columns[name]

    def numbers(self, name: str, *, what: str, option: str | None = None) -> np.ndarray:
        """Column ``name`` as finite floats; refuses text, empty and non-finite cells."""
        import numpy as np

        col = self.require(name, option=option)
        if col.texts is not None:
            first = next(i for i, t in enumerate(col.texts) if not is_number(t, comma=self.comma))
            self._bad(name, first, col.texts[first], what)
        if col.odd:
            first = min(col.odd)
            self._bad(name, first, col.odd[first], what)
        values = np.frombuffer(col.numbers, dtype="float64")
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            self._bad(name, int(bad[0]), repr(float(values[bad[0]])), what)
        return values

    def release(self, name: str) -> None:
        """Drop the cells of column ``name`` (once a frame holds them in another form)."""
        col = self.columns[name]
        col.numbers = array("d")
        col.texts = []
        col.odd.clear()

    def _bad(self, name: str, row: int, text: str, what: str) -> None:
        message = bad_cell(text, column=name, what=what, comma=self.comma)
        raise ImportFormatError(self.path, message, line=self.lines[row], column=name)


def read_columns(
    path: str | Path,
    *,
    sep: str | None = None,
    decimal: str = ".",
    sep_option: str | None = "--sep",
) -> ColumnTable:
    """Read a delimited file with a header into typed columns, record by record.

    ``decimal`` is the decimal mark of the numbers (``.`` or ``,``; with ``,`` a
    number may be written either way, and the field separator must be another one).
    ``sep_option`` is the caller's option that sets the separator (None: it has none),
    named when a row has another number of fields than the header.

    Raises
    ------
    ImportFormatError
        For a missing, empty or non-UTF-8 file, a header field without a name, a
        repeated header line, or a row with another number of fields than the header
        (naming its physical line); a decimal comma with a comma separator.
    """
    comma = comma_decimal(decimal)
    p = checked_file(path)
    sep = _separator(sep)
    try:
        with p.open(encoding="utf-8-sig", newline="") as f:
            return _read(p, f, sep, comma=comma, sep_option=sep_option)
    except UnicodeDecodeError as e:
        raise not_utf8(p, e) from e


def _read(
    p: Path, f: TextIO, sep: str | None, *, comma: bool, sep_option: str | None
) -> ColumnTable:
    first = f.readline()
    separator = file_separator(p, first, sep)
    check_separator(str(p), separator, comma=comma)
    header = read_header(str(p), csv.reader([first], delimiter=separator))
    cols = [_Column(h) for h in header]
    interned: dict[str, str] = {}
    lines: array[int] = array("q")
    reader = csv.reader(f, delimiter=separator)
    records = data_records(
        str(p),
        reader,
        width=len(header),
        separator=separator,
        before=1,
        header=header,
        sep_option=sep_option,
    )
    for n, (start, fields) in enumerate(records):
        for col, raw in zip(cols, fields, strict=True):
            _add(col, raw.strip(), n, interned, comma=comma)
        lines.append(start)
    columns: dict[str, _Column] = {}
    for c in cols:
        columns.setdefault(c.name, c)
    return ColumnTable(str(p), header, columns, lines, comma=comma)


def _add(
    col: _Column, cell: str, row: int, interned: dict[str, str], *, comma: bool = False
) -> None:
    if col.texts is not None:
        col.texts.append(interned.setdefault(cell, cell))
        return
    number = cell_number(cell, comma=comma)
    if number is None and starts_text(cell, row, number):  # most cells: no second call
        # text early on: a text column after all, keeping every cell as written
        texts = [col.odd.get(i, _fmt(v)) for i, v in enumerate(col.numbers)]
        col.texts = [interned.setdefault(t, t) for t in texts]
        col.texts.append(interned.setdefault(cell, cell))
        col.numbers = array("d")
        col.odd.clear()
        return
    x = math.nan if number is None else number
    if not math.isfinite(x):
        col.odd_count += 1
        if len(col.odd) < 100:
            col.odd[row] = cell
    col.numbers.append(x)


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _text_series(texts: list[str]) -> pd.Series:
    """A text column as Python objects: references to the file's few distinct strings.

    pandas' default string dtype would copy every cell into its own buffer, and each
    later ``tolist()`` (the checks) would make one new string per row: about 100 bytes a
    row instead of 8 for a column such as the machine type (hashes and values are the same).
    """
    import numpy as np
    import pandas as pd

    return pd.Series(np.array(texts, dtype=object), dtype=object, copy=False)


def executions_from_columns(
    table: ColumnTable,
    *,
    job: str,
    runtime: str,
    scale_out: str | None,
    machine_type: str | None,
    kinds: Mapping[str, AttributeKind] | None = None,
    via: str = "",
    runtime_unit: str = "s",
) -> ExecutionTable:
    """Validate typed columns as executions of ``job``.

    Runtimes are read in ``runtime_unit`` (``ms``, ``s``, ``min``, ``h``: see
    :data:`jobcast.history.importers.units.DURATION_UNITS`) and stored in seconds.

    ``via`` prefixes the options that errors suggest for naming another column (a format
    with fixed names suggests the command that takes them: ``jobcast import csv ``).

    ``table`` is consumed: a column converted for the frame (to integers, or text) is
    dropped from it once converted, so that the import holds one copy of each column.

    Raises
    ------
    ImportFormatError
        Naming file, line and column, for every invalid cell or missing column.
    """
    import numpy as np
    import pandas as pd

    kinds = dict(kinds or {})
    factor = seconds_per(runtime_unit, option="--runtime-unit")
    check_roles(table.path, runtime=runtime, scale_out=scale_out, machine_type=machine_type)
    lines = np.frombuffer(table.lines, dtype="int64")
    runtimes = table.numbers(runtime, what="runtime", option=f"{via}--runtime")
    low = np.flatnonzero(~(runtimes > 0))
    if len(low):
        raise ImportFormatError(
            table.path,
            f"runtime must be > 0, got {_fmt(float(runtimes[low[0]]))!r}",
            line=int(lines[low[0]]),
            column=runtime,
        )
    if factor != 1.0:
        runtimes = runtimes * factor
    frame: dict[str, object] = {"source_line": lines, "gross_runtime": runtimes}
    special = {runtime}
    if scale_out is not None:
        so = table.numbers(scale_out, what="scale-out", option=f"{via}--scale-out")
        bad = np.flatnonzero(~((so >= 1) & (np.floor(so) == so) & (so <= MAX_SCALE_OUT)))
        if len(bad):
            x = float(so[bad[0]])
            why = (
                "is no whole number"
                if x >= 1 and np.floor(x) != x
                else f"is more than {MAX_SCALE_OUT} machines"
                if x > MAX_SCALE_OUT
                else "is below 1"
            )
            raise ImportFormatError(
                table.path,
                f"scale-out {_fmt(x)!r} {why}: a scale-out is a whole number of machines, "
                f"1 to {MAX_SCALE_OUT}; check the column",
                line=int(lines[bad[0]]),
                column=scale_out,
            )
        frame["scale_out"] = so.astype("int64")
        del so
        table.release(scale_out)
        special.add(scale_out)
    if machine_type is not None:
        col = table.require(machine_type, option=f"{via}--machine-type")
        texts = col.texts
        if texts is None:
            texts = [col.odd.get(i, _fmt(x)) for i, x in enumerate(col.numbers)]
        if "" in texts:
            i = texts.index("")
            raise ImportFormatError(
                table.path,
                "empty machine type; fill it in",
                line=int(lines[i]),
                column=machine_type,
            )
        frame["machine_type"] = _text_series(texts)
        del texts
        table.release(machine_type)
        special.add(machine_type)
    check_kinds(table.path, header=table.header, special=special, kinds=kinds)
    attributes = []
    for name in table.header:
        if name in special:
            continue
        col = table.require(name)
        if col.texts is not None:
            problem = text_column_problem(col.texts, comma=table.comma)
            if problem is not None:
                raise ImportFormatError(
                    table.path, problem.message, line=int(lines[problem.row]), column=name
                )
            values: object = _text_series(col.texts)
            numeric = False
        else:
            nums = table.numbers(name, what="value")
            integral = bool(np.all((np.floor(nums) == nums) & (np.abs(nums) < 2**53)))
            if integral:
                values = nums.astype("int64")
                del nums
                table.release(name)  # the floats: the frame holds the integers
            else:
                values = nums  # the frame shares the column's memory
            numeric = True
        attributes.append(infer_attribute(name, numeric=numeric, kinds=kinds))
        frame[name] = values
        if not numeric:
            table.release(name)
        del values
    spec = JobSpec(job, tuple(attributes), runtime, scale_out, machine_type)
    # the columns are used as they are (no copy into blocks): memory stays one copy
    df = pd.DataFrame(frame, copy=False)
    del frame
    return ExecutionTable(job=spec, frame=df, provenance=Provenance.of_file(table.path))
