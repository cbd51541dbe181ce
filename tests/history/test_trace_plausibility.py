"""import traces: runs not finished yet, implausible durations, and a failed first import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobcast.errors import ImportFormatError
from jobcast.history import HistoryRepository
from jobcast.history.importers.hints import trace_hints
from jobcast.history.importers.traces import TraceColumns, read_traces

RUN = "execution,iteration,duration_s,scale_out,s,f,rs,rf\n"
_A, _B, _C = "2026-01-01 00:00:00", "2026-01-01 00:00:05", "2026-01-01 00:00:10"
TIMED = TraceColumns(started="s", finished="f", run_started="rs", run_finished="rf")
GOOD = f"{RUN}a,0,5,2,{_A},{_B},{_A},{_C}\na,1,5,2,{_B},{_C},{_A},{_C}\n"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "t.csv").write_text(text)
    return tmp_path / "t.csv"


def _hints(tmp_path: Path, text: str, columns: TraceColumns = TIMED) -> list[str]:
    table = read_traces(_write(tmp_path, text), job="j", columns=columns)
    return trace_hints(table, duration_unit=columns.duration_unit, duration_column="duration_s")


def test_a_run_without_end_is_named_as_not_finished(tmp_path: Path) -> None:
    """Was: "'' is not a timestamp; use ISO format" for a run still in progress."""
    text = GOOD + f"b,0,5,2,{_A},{_B},{_A},\nb,1,5,2,{_B},{_C},{_A},\n"
    with pytest.raises(ImportFormatError) as err:
        read_traces(_write(tmp_path, text), job="j", columns=TIMED)
    assert err.value.line == 4 and err.value.column == "rf"
    message = str(err.value)
    assert "execution 'b' has an empty end: the run has not finished yet" in message
    assert "once it has finished" in message and "jobcast watch" in message
    assert "not a timestamp" not in message


def test_an_iteration_without_end_is_named_as_running(tmp_path: Path) -> None:
    text = GOOD.replace(f"a,1,5,2,{_B},{_C},", f"a,1,5,2,{_B},,")
    with pytest.raises(ImportFormatError) as err:
        read_traces(_write(tmp_path, text), job="j", columns=TIMED)
    assert err.value.line == 3 and err.value.column == "f"
    assert "the iteration has not finished yet" in str(err.value)
    text = GOOD.replace(f"a,1,5,2,{_B},", "a,1,5,2,,")
    with pytest.raises(ImportFormatError, match="the iteration start is empty"):
        read_traces(_write(tmp_path, text), job="j", columns=TIMED)


def test_plausible_traces_get_no_hint(tmp_path: Path) -> None:
    assert _hints(tmp_path, GOOD) == []
    assert _hints(tmp_path, "execution,iteration,duration_s,scale_out\na,0,0,2\na,1,3,2\n",
                  TraceColumns()) == []  # fmt: skip


def test_milliseconds_read_as_seconds_without_times_are_hinted(tmp_path: Path) -> None:
    """Was: gbt's iterations imported as 55 h each without a word (no start/end columns)."""
    text = "execution,iteration,duration_s,scale_out\na,0,821,4\na,1,199626,4\n"
    (hint,) = _hints(tmp_path, text, TraceColumns())
    assert "execution 'a' lasted 199626 s (55.5 h), longer than a day" in hint
    assert "--duration-unit ms" in hint


def test_a_run_longer_than_a_week_is_hinted(tmp_path: Path) -> None:
    rows = "".join(f"a,{i},80000,4\n" for i in range(8))
    (hint,) = _hints(tmp_path, "execution,iteration,duration_s,scale_out\n" + rows,
                     TraceColumns())  # fmt: skip
    assert "add up to 640000 s" in hint and "longer than a week" in hint


def test_iterations_longer_than_their_run_are_hinted(tmp_path: Path) -> None:
    # iteration times absent, run times given: 10 s of run, 5000 s of iterations
    text = f"execution,iteration,duration_s,scale_out,rs,rf\na,0,5000,2,{_A},{_C}\n"
    columns = TraceColumns(run_started="rs", run_finished="rf")
    (hint,) = _hints(tmp_path, text, columns)
    assert "over twice the run's start to end (10 s)" in hint


def test_durations_of_0_over_a_long_span_are_hinted(tmp_path: Path) -> None:
    """Was: a duration of 0 for an iteration that ran 170 s, imported without a word."""
    late = "2026-01-01 00:02:55"
    text = f"{RUN}a,0,5,2,{_A},{_B},{_A},{late}\na,1,0,2,{_B},{late},{_A},{late}\n"
    (hint,) = _hints(tmp_path, text)
    assert "1 iteration(s) have a duration of 0" in hint and "(execution 'a': 170 s)" in hint
    # 0 over under a second is a short Spark job: no hint
    short = f"{RUN}a,0,5,2,{_A},{_B},{_A},{_C}\na,1,0,2,{_B},2026-01-01 00:00:05.5,{_A},{_C}\n"
    assert _hints(tmp_path, short) == []


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])


def test_a_failed_block_removes_the_history_it_created(tmp_path: Path) -> None:
    """Was: a failed first import left an empty history, and later "unknown job"."""
    path = tmp_path / "new.db"
    with pytest.raises(ImportFormatError), HistoryRepository(f"sqlite:///{path}") as repo:
        repo.import_iterations(read_traces(_write(tmp_path, GOOD.replace(",5,", ",x,")),
                                           job="j", columns=TIMED))  # fmt: skip
    assert not list(tmp_path.glob("new.db*"))


def test_a_failed_block_keeps_a_history_that_existed_or_holds_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with HistoryRepository(f"sqlite:///{path}"):
        pass  # created empty by an earlier command
    with pytest.raises(RuntimeError), HistoryRepository(f"sqlite:///{path}"):
        raise RuntimeError
    assert path.exists()
    fresh = tmp_path / "fresh.db"
    with pytest.raises(RuntimeError), HistoryRepository(f"sqlite:///{fresh}") as repo:
        repo.import_iterations(read_traces(_write(tmp_path, GOOD), job="j", columns=TIMED))
        raise RuntimeError  # after something was stored: kept
    assert _rows(fresh) == 1


def test_a_history_another_connection_uses_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    repo = HistoryRepository(f"sqlite:///{path}")
    other = HistoryRepository(f"sqlite:///{path}")
    with other.engine.connect():  # another command, holding the file open
        with pytest.raises(RuntimeError), repo:
            raise RuntimeError
        assert path.exists()
    other.close()
