from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jobcast.app.progress import job_history
from jobcast.errors import ImportFormatError, InputError
from jobcast.history import HistoryRepository
from jobcast.history.importers.traces import TraceColumns, read_traces
from tests.conftest import shared_file

ELLIS = TraceColumns(
    execution="ID",
    iteration="JOB_ID",
    duration="DURATION_MS",
    duration_unit="ms",
    scale_out="SCALE_OUT",
    started="STARTED_AT.1",
    finished="FINISHED_AT.1",
    run_started="STARTED_AT",
    run_finished="FINISHED_AT",
)


#: The header of a trace in the canonical column names.
HEADER = "execution,iteration,duration_s,scale_out\n"
#: A trace whose context attribute changes within one execution.
VARYING_CONTEXT = "execution,iteration,duration_s,scale_out,input_size\na,0,1,2,5\na,1,1,2,6\n"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "t.csv").write_text(text)
    return tmp_path / "t.csv"


def test_ellis_histories_import(sqlite_repo: HistoryRepository) -> None:
    for name, runs in (("gbt", 65), ("logisticregression", 65)):
        t = read_traces(shared_file("ellis", f"{name}.csv"), job=name, sep="|", columns=ELLIS)
        summary = sqlite_repo.import_iterations(t)
        assert summary.executions == runs
        it = sqlite_repo.iterations(name)
        assert it["duration_s"].gt(0).all()
        # scale-out changes inside runs (dynamic rescaling)
        assert (it.groupby("execution")["scale_out"].nunique() > 1).any()
        ex = sqlite_repo.executions(name)
        assert (ex["gross_runtime"] >= it.groupby("execution")["duration_s"].sum().min()).all()


def test_canonical_columns_and_context(tmp_path: Path) -> None:
    text = (
        "execution,iteration,duration_s,scale_out,records,input_size\n"
        "a,0,2.0,4,100,5e9\n"
        "a,1,1.5,4,50,5e9\n"
        "b,0,3.0,2,100,1e9\n"
    )
    t = read_traces(_write(tmp_path, text), job="pr")
    assert list(t.iterations["records"]) == [100.0, 50.0, 100.0]
    ex = t.executions.frame
    assert list(ex["gross_runtime"]) == [3.5, 3.0]
    assert list(ex["input_size"]) == [5e9, 1e9]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        pytest.param(
            f"{HEADER}a,0,-1,2\n", 2, "duration_s", ">= 0, got '-1'", id="negative-duration"
        ),
        pytest.param(
            f"{HEADER}a,0,1,2\nb,0,0,2\nb,1,0,2\n", 3, "duration_s",
            "every iteration of execution 'b' lasted 0 s", id="run-of-zero-durations",
        ),
        pytest.param(f"{HEADER}a,0,x,2\n", 2, "duration_s", "not a number", id="text-duration"),
        pytest.param(f"{HEADER}a,1.5,1,2\n", 2, "iteration", "whole", id="fractional-iteration"),
        pytest.param(f"{HEADER}a,-1,1,2\n", 2, "iteration", ">= 0", id="negative-iteration"),
        pytest.param(f"{HEADER}a,0,1,0\n", 2, "scale_out", "> 0", id="zero-scale-out"),
        pytest.param(f"{HEADER}a,0,1,2\na,0,2,2\n", 3, "iteration", "twice", id="iteration-twice"),
        pytest.param(
            "execution,iteration,duration_s\na,0,1\n", 1, None, "--scale-out", id="no-scale-out"
        ),
        pytest.param(
            VARYING_CONTEXT, 2, "input_size", "changes within execution", id="context-varies"
        ),
        pytest.param(
            f"{HEADER}a,0,1,2\na,1,1,2\na,3,1,2\n", 4, "iteration", "no iteration 2",
            id="iteration-gap",
        ),
        pytest.param(
            f"{HEADER}a,0,1,2\na,1,1,2\nb,1,1,2\nb,2,1,2\n", 4, "iteration",
            "'b' starts at iteration 1 while 'a' starts at 0", id="first-index-differs",
        ),
        pytest.param(
            f"{HEADER}a,5,1,2\na,6,1,2\nb,5,1,2\n", 2, "iteration",
            "'a' starts at iteration 5; iterations are numbered from 0 or 1",
            id="first-index-above-1",
        ),
    ],
)
def test_bad_traces(
    tmp_path: Path, text: str, line: int, column: str | None, fragment: str
) -> None:
    with pytest.raises(ImportFormatError) as err:
        read_traces(_write(tmp_path, text), job="j")
    assert err.value.line == line and err.value.column == column
    assert fragment in str(err.value)


def test_iterations_counted_from_one_are_stored_from_zero(
    tmp_path: Path, sqlite_repo: HistoryRepository
) -> None:
    text = f"{HEADER}a,1,2.0,4\na,2,3.0,4\nb,2,5.0,4\nb,1,4.0,4\n"
    t = read_traces(_write(tmp_path, text), job="one")
    assert list(t.iterations["iteration"]) == [0, 1, 0, 1]
    assert list(t.iterations["duration_s"]) == [2.0, 3.0, 4.0, 5.0]
    sqlite_repo.import_iterations(t)
    stored = sqlite_repo.iterations("one")
    assert stored.groupby("execution")["iteration"].apply(list).to_dict() == {
        "a": [0, 1],
        "b": [0, 1],
    }


def test_a_duration_of_0_is_stored_and_read_by_progress_as_1_ms(
    tmp_path: Path, sqlite_repo: HistoryRepository
) -> None:
    # a job that finished within the clock's resolution: 0 ms in the trace
    text = "ID|JOB_ID|DURATION_MS|SCALE_OUT\n1|0|1500|4\n1|1|0|4\n1|2|900|4\n2|0|1400|4\n2|1|3|4\n"
    columns = TraceColumns(execution="ID", iteration="JOB_ID", duration="DURATION_MS",
                           duration_unit="ms", scale_out="SCALE_OUT")
    t = read_traces(_write(tmp_path, text), job="tiny", sep="|", columns=columns)
    assert list(t.iterations["duration_s"]) == pytest.approx([1.5, 0.0, 0.9, 1.4, 0.003])
    assert list(t.executions.frame["gross_runtime"]) == pytest.approx([2.4, 1.403])
    sqlite_repo.import_iterations(t)
    history, _ = job_history(sqlite_repo, "tiny")
    by_run = sorted(history.groupby("execution")["duration_s"].apply(list), key=len)
    assert by_run[0] == pytest.approx([1.4, 0.003])
    assert by_run[1] == pytest.approx([1.5, 0.001, 0.9])


def test_bad_unit() -> None:
    with pytest.raises(InputError, match="duration-unit"):
        TraceColumns(duration_unit="days")


def test_a_duration_longer_than_its_start_to_end_names_the_unit(tmp_path: Path) -> None:
    # the Ellis format with --duration-unit left at its default (s): 821 ms read as 821 s
    text = (
        "ID|JOB_ID|STARTED_AT|FINISHED_AT|DURATION_MS|SCALE_OUT\n"
        "1|0|2021-07-04 19:22:18.08|2021-07-04 19:22:18.901|821|36\n"
    )
    ms = TraceColumns(execution="ID", iteration="JOB_ID", duration="DURATION_MS",
                      duration_unit="ms", scale_out="SCALE_OUT", started="STARTED_AT",
                      finished="FINISHED_AT")
    t = read_traces(_write(tmp_path, text), job="e", sep="|", columns=ms)
    assert list(t.iterations["duration_s"]) == pytest.approx([0.821])
    with pytest.raises(ImportFormatError) as err:
        read_traces(_write(tmp_path, text), job="e", sep="|",
                    columns=dataclasses.replace(ms, duration_unit="s"))
    assert err.value.line == 2 and err.value.column == "DURATION_MS"
    assert "(821 s) is longer than the iteration's start to end (0.821 s)" in str(err.value)
    assert "--duration-unit" in str(err.value)
    # timestamps rounded to the second leave a second of slack
    rounded = "ID|JOB_ID|STARTED_AT|FINISHED_AT|DURATION_MS|SCALE_OUT\n1|0|2021-07-04 19:22:18|" \
        "2021-07-04 19:22:19|1900|36\n"
    assert len(read_traces(_write(tmp_path, rounded), job="e", sep="|", columns=ms).iterations)


RUN = "execution,iteration,duration_s,scale_out,s,f,rs,rf\n"
_A, _B, _C = "2026-01-01 00:00:00", "2026-01-01 00:00:05", "2026-01-01 00:00:10"
TIMED = TraceColumns(started="s", finished="f", run_started="rs", run_finished="rf")


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        pytest.param(
            f"{RUN}a,0,5,2,{_A},{_B},{_A},{_C}\na,1,5,2,{_B},{_C},2025-12-31 23:00:00,{_C}\n",
            3, "rs", "has 2025-12-31 23:00:00+00:00 here but 2026-01-01 00:00:00+00:00",
            id="run-start-differs",
        ),
        pytest.param(
            f"{RUN}a,0,5,2,{_A},{_B},{_A},{_C}\na,1,5,2,{_B}+02:00,{_C},{_A},{_C}\n",
            3, "s", "has a time zone while the column's first time does not", id="zones-mixed",
        ),
        pytest.param(
            f"{RUN}a,0,5,2,{_A},{_B},{_B},{_C}\n", 2, "s", "before its run started",
            id="iteration-before-run",
        ),
        pytest.param(
            f"{RUN}a,0,5,2,{_B},{_C},{_A},{_B}\n", 2, "f", "after its run finished",
            id="iteration-after-run",
        ),
    ],
)
def test_times_that_contradict_each_other(
    tmp_path: Path, text: str, line: int, column: str, fragment: str
) -> None:
    with pytest.raises(ImportFormatError) as err:
        read_traces(_write(tmp_path, text), job="j", columns=TIMED)
    assert err.value.line == line and err.value.column == column
    assert fragment in str(err.value)
    good = f"{RUN}a,0,5,2,{_A},{_B},{_A},{_C}\na,1,5,2,{_B},{_C},{_A},{_C}\n"
    assert len(read_traces(_write(tmp_path, good), job="j", columns=TIMED).iterations) == 2
