"""Imports in other units and locales, and the hints and messages of likely misreadings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobcast.errors import ImportFormatError, InputError
from jobcast.history.importers import read_c3o, read_executions
from jobcast.history.importers.hints import import_hints

MINUTES = "nodes,size,minutes\n2,100,4.5\n4,100,2.5\n8,100,1.5\n"


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_runtimes_are_read_in_the_unit_given(tmp_path: Path) -> None:
    """Was: no --runtime-unit; minutes were stored as seconds without a word."""
    path = _write(tmp_path, MINUTES)
    table = read_executions(path, job="j", runtime="minutes", scale_out="nodes", runtime_unit="min")
    assert list(table.frame["gross_runtime"]) == [270.0, 150.0, 90.0]
    c3o = _write(tmp_path, "instance_count,gross_runtime\n2,1500\n", "c.csv")
    assert list(read_c3o(c3o, job="c", runtime_unit="ms").frame["gross_runtime"]) == [1.5]
    with pytest.raises(InputError, match="--runtime-unit must be one of ms, s, min, h"):
        read_c3o(c3o, job="c", runtime_unit="days")


def test_implausibly_short_distributed_runs_are_hinted(tmp_path: Path) -> None:
    path = _write(tmp_path, MINUTES)
    as_seconds = read_executions(path, job="j", runtime="minutes", scale_out="nodes")
    (hint,) = import_hints(as_seconds, runtime_unit="s", scale_out_given=True)
    assert "every distributed run (scale-out > 1) took under 10 s" in hint
    assert "--runtime-unit min" in hint
    as_minutes = read_executions(
        path, job="j", runtime="minutes", scale_out="nodes", runtime_unit="min"
    )
    assert import_hints(as_minutes, runtime_unit="min", scale_out_given=True) == []


def test_a_scale_out_like_column_left_as_context_is_hinted(tmp_path: Path) -> None:
    path = _write(tmp_path, MINUTES.replace("4.5", "45").replace("2.5", "25").replace("1.5", "15"))
    table = read_executions(path, job="j", runtime="minutes")
    (hint,) = import_hints(table, runtime_unit="s", scale_out_given=False)
    assert hint.startswith("column 'nodes' looks like a scale-out")
    assert "--scale-out nodes" in hint
    named = read_executions(path, job="j", runtime="minutes", scale_out="nodes")
    assert import_hints(named, runtime_unit="s", scale_out_given=True) == []


def test_numbers_with_a_unit_read_as_text_are_hinted(tmp_path: Path) -> None:
    """Was: a column of 10GB, 20GB imported as categories without a word."""
    text = "nodes;input;seconds\n4;10GB;620\n8;10 GB;340\n16;2.5TB;190\n4;20;1210\n"
    table = read_executions(_write(tmp_path, text), job="j", runtime="seconds", scale_out="nodes")
    (hint,) = import_hints(table, runtime_unit="s", scale_out_given=True)
    assert hint.startswith("column 'input' holds numbers with a unit ('10GB'; units GB, TB)")
    assert "new --job" in hint
    # a text column of names is no such column
    names = "nodes;algo;seconds\n4;als;620\n8;k2;340\n16;kmeans;190\n"
    table = read_executions(_write(tmp_path, names), job="j", runtime="seconds", scale_out="nodes")
    assert import_hints(table, runtime_unit="s", scale_out_given=True) == []


@pytest.mark.parametrize(
    ("text", "line", "says", "never"),
    [
        # an empty runtime cannot be dropped as a column
        ("n,r\n2,10\n4,\n", 3, "empty runtime; fill it in, or remove the row", "drop the column"),
        ("n,r\n2,10\nn,r\n4,12\n", 3, "this line repeats the header line", "not a number"),
        ("n,r\n2,10\nfour,12\n", 3, "whole number of machines like 4", "3.5"),
        ("n;r\n2;10,5\n4;12,5\n", 2, "has a decimal comma; give --decimal ,", "is not a number"),
    ],
)
def test_misreadings_are_named(tmp_path: Path, text: str, line: int, says: str, never: str) -> None:
    """Was: "drop the column" for a runtime, a repeated header called "not a number", "3.5"."""
    with pytest.raises(ImportFormatError) as raised:
        read_executions(_write(tmp_path, text), job="j", runtime="r", scale_out="n")
    assert raised.value.line == line
    assert says in str(raised.value) and never not in str(raised.value)


def test_decimal_commas_are_named_or_read(tmp_path: Path) -> None:
    """Was: selectivity "0,5" became a text category without a word."""
    path = _write(tmp_path, "n;sel;r\n2;0,5;10\n4;1;12\n")
    with pytest.raises(ImportFormatError, match="numbers with a decimal comma") as raised:
        read_executions(path, job="j", runtime="r", scale_out="n")
    assert raised.value.column == "sel" and raised.value.line == 2
    table = read_executions(path, job="j", runtime="r", scale_out="n", decimal=",")
    assert list(table.frame["sel"]) == [0.5, 1.0]
    assert table.job.attribute("sel").numeric
    comma = _write(tmp_path, "n,r\n2,10\n", "comma.csv")
    with pytest.raises(ImportFormatError, match="needs a field separator other than"):
        read_executions(comma, job="j", runtime="r", decimal=",")


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False), st.sampled_from(["min", "h"]))
def test_decimal_comma_runtimes_read_back(value: float, unit: str) -> None:
    import tempfile

    from jobcast.history.importers.units import DURATION_UNITS

    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), f"n;r\n2;{repr(value).replace('.', ',')}\n")
        table = read_executions(path, job="j", runtime="r", decimal=",", runtime_unit=unit)
    assert table.frame["gross_runtime"].iloc[0] == pytest.approx(value * DURATION_UNITS[unit])
