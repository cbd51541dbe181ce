"""import traces reads cells by the rule of import csv (history/importers/cells.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobcast.errors import ImportFormatError, InputError
from jobcast.history.importers import read_executions
from jobcast.history.importers.traces import TraceColumns, read_traces

SIZE = TraceColumns(context=("size",))


def _write(folder: Path, text: str, name: str = "t.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_decimal_comma_in_a_context_column_is_refused_as_by_import_csv(
    tmp_path: Path,
) -> None:
    """Was: the context column ``size`` holding ``1,5`` became a text attribute."""
    trace = _write(tmp_path, "execution;iteration;duration_s;scale_out;size\na;0;1;2;1,5\n")
    with pytest.raises(ImportFormatError) as traced:
        read_traces(trace, job="j", columns=SIZE)
    assert (traced.value.line, traced.value.column) == (2, "size")
    assert "give --decimal ," in str(traced.value)
    csv = _write(tmp_path, "size;r;n\n1,5;10;2\n", "e.csv")
    with pytest.raises(ImportFormatError) as imported:
        read_executions(csv, job="j", runtime="r", scale_out="n")
    assert traced.value.reason == imported.value.reason  # one rule, one message


def test_decimal_commas_are_read_with_decimal_comma(tmp_path: Path) -> None:
    trace = _write(
        tmp_path,
        "execution;iteration;duration_s;scale_out;size;records\n"
        "a;0;1,5;2;1,5;3,25\na;1;2.5;2;1,5;4\n",
    )
    columns = TraceColumns(context=("size",), records="records")
    t = read_traces(trace, job="j", columns=columns, decimal=",")
    assert list(t.iterations["duration_s"]) == [1.5, 2.5]
    assert list(t.iterations["records"]) == [3.25, 4.0]
    assert list(t.executions.frame["size"]) == [1.5]
    assert t.executions.job.attribute("size").numeric
    commas = _write(tmp_path, "execution,iteration,duration_s,scale_out\na,0,1,2\n", "c.csv")
    with pytest.raises(ImportFormatError, match="needs a field separator other than"):
        read_traces(commas, job="j", decimal=",")
    with pytest.raises(InputError, match="--decimal must be"):
        read_traces(trace, job="j", decimal="'")


def test_a_decimal_comma_duration_gets_the_hint(tmp_path: Path) -> None:
    """Was: "duration '1,5' is not a number", without the decimal-comma hint."""
    trace = _write(tmp_path, "execution;iteration;duration_s;scale_out\na;0;1;2\na;1;1,5;2\n")
    with pytest.raises(ImportFormatError) as raised:
        read_traces(trace, job="j")
    assert (raised.value.line, raised.value.column) == (3, "duration_s")
    assert "has a decimal comma; give --decimal ," in str(raised.value)


def test_text_in_a_context_column_of_numbers_is_refused(tmp_path: Path) -> None:
    """Was: one typo turned a column of numbers into a text attribute without a word."""
    trace = _write(
        tmp_path,
        "execution,iteration,duration_s,scale_out,size\na,0,1,2,1\nb,0,1,2,2\nc,0,1,2,x\n",
    )
    with pytest.raises(ImportFormatError) as raised:
        read_traces(trace, job="j", columns=SIZE)
    assert (raised.value.line, raised.value.column) == (4, "size")
    assert "'x' is text in a column of numbers" in str(raised.value)
    texts = _write(
        tmp_path,
        "execution,iteration,duration_s,scale_out,size\na,0,1,2,small\nb,0,1,2,large\n",
        "texts.csv",
    )
    t = read_traces(texts, job="j", columns=SIZE)
    assert not t.executions.job.attribute("size").numeric
    assert list(t.executions.frame["size"]) == ["small", "large"]


def test_an_empty_or_infinite_context_cell_is_refused(tmp_path: Path) -> None:
    for cell, says in (("", "empty value"), ("inf", "not a finite number")):
        trace = _write(
            tmp_path, f"execution,iteration,duration_s,scale_out,size\na,0,1,2,3\nb,0,1,2,{cell}\n"
        )
        with pytest.raises(ImportFormatError, match=says) as raised:
            read_traces(trace, job="j", columns=SIZE)
        assert (raised.value.line, raised.value.column) == (3, "size")


_IDS = st.lists(
    st.text(alphabet="abcdefgh", min_size=1, max_size=4), min_size=1, max_size=4, unique=True
)
_DURATION = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
_SIZE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
#: Cells no column of numbers takes; a decimal comma unless it is the decimal mark.
_INVALID = ["", "inf", "nan", "1,5"]
_COLUMNS = ("iteration", "duration_s", "scale_out", "size")


@st.composite
def _traces(draw: st.DrawFn) -> tuple[bool, list[tuple[str, int, float, int, float]]]:
    """A valid trace: (decimal comma?, rows of execution, iteration, duration, scale, size)."""
    comma = draw(st.booleans())
    rows = []
    for execution in draw(_IDS):
        size = draw(_SIZE)
        count = draw(st.integers(min_value=1, max_value=3))
        for i in range(count):
            scale = draw(st.integers(min_value=1, max_value=100))
            rows.append((execution, i, draw(_DURATION), scale, size))
    return comma, rows


def _text(comma: bool, rows: list[tuple[str, int, float, int, float]]) -> list[list[str]]:
    def number(x: float) -> str:
        return repr(x).replace(".", ",") if comma else repr(x)

    return [[e, str(i), number(d), str(s), number(z)] for e, i, d, s, z in rows]


def _read(comma: bool, cells: list[list[str]]):  # type: ignore[no-untyped-def]
    text = ";".join(("execution", *_COLUMNS)) + "\n"
    text += "".join(";".join(r) + "\n" for r in cells)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), text)
        return read_traces(path, job="j", columns=SIZE, decimal="," if comma else ".")


@settings(max_examples=80, deadline=None)
@given(_traces())
def test_any_valid_trace_reads_back_its_numbers(trace) -> None:  # type: ignore[no-untyped-def]
    comma, rows = trace
    t = _read(comma, _text(comma, rows))
    it = t.iterations
    assert list(it["execution"]) == [r[0] for r in rows]
    assert list(it["iteration"]) == [r[1] for r in rows]
    assert list(it["duration_s"]) == [r[2] for r in rows]
    assert list(it["scale_out"]) == [r[3] for r in rows]
    sizes = {e: z for e, _, _, _, z in rows}
    ex = t.executions.frame
    assert dict(zip(ex["external_id"], ex["size"], strict=True)) == sizes
    assert t.executions.job.attribute("size").numeric


@settings(max_examples=120, deadline=None)
@given(_traces(), st.data())
def test_any_invalid_cell_is_refused_with_its_line(trace, data) -> None:  # type: ignore[no-untyped-def]
    comma, rows = trace
    cells = _text(comma, rows)
    row = data.draw(st.integers(min_value=0, max_value=len(cells) - 1), label="row")
    column = data.draw(st.sampled_from(_COLUMNS), label="column")
    invalid = [c for c in _INVALID if not (comma and c == "1,5")]
    if column != "size" or len(cells) >= 3:
        # text: a context column is text unless it holds mostly numbers, as in import csv
        invalid.append("x1")
    cells[row][1 + _COLUMNS.index(column)] = data.draw(st.sampled_from(invalid), label="cell")
    with pytest.raises(ImportFormatError) as raised:
        _read(comma, cells)
    assert (raised.value.line, raised.value.column) == (row + 2, column)
