"""import traces on the command line: plausibility warnings, and failed first imports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import Jobcast

MS_AS_S = "execution,iteration,duration_s,scale_out\na,0,821,4\na,1,199626,4\nb,0,900,4\n"
GAP = "execution,iteration,duration_s,scale_out\na,0,1,4\na,2,1,4\n"


def test_implausible_durations_warn_on_stderr_and_in_json(
    jobcast: Jobcast, tmp_path: Path
) -> None:
    """Was: milliseconds read as seconds imported silently without start/end columns."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    (tmp_path / "t.csv").write_text(MS_AS_S)
    code, out, err = jobcast("import", "traces", str(tmp_path / "t.csv"), "--job", "a",
                             "--db", db)  # fmt: skip
    assert code == 0 and "Imported 2 executions" in out
    assert "warning:" in err and "longer than a day" in err and "--duration-unit ms" in err
    code, out, _ = jobcast("import", "traces", str(tmp_path / "t.csv"), "--job", "b",
                           "--db", db, "--json")  # fmt: skip
    (warning,) = json.loads(out)["warnings"]
    assert warning.startswith(f"{tmp_path / 't.csv'}: an iteration of execution 'a'")
    code, out, _ = jobcast("import", "traces", str(tmp_path / "t.csv"), "--job", "c",
                           "--duration-unit", "ms", "--db", db, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["warnings"] == []


@pytest.mark.parametrize(
    ("command", "text"),
    [
        (("import", "traces"), GAP),
        (("import", "csv", "--runtime", "runtime"), "scale_out,runtime\n2,abc\n"),
        (("import", "c3o"), "instance_count,gross_runtime\nx,1\n"),
    ],
)
def test_a_failed_import_leaves_no_new_history(
    jobcast: Jobcast, tmp_path: Path, command: tuple[str, ...], text: str
) -> None:
    """Was: an empty history left behind, so later commands said "unknown job"."""
    path = tmp_path / "fresh.db"
    (tmp_path / "bad.csv").write_text(text)
    code, _, err = jobcast(*command[:2], str(tmp_path / "bad.csv"), *command[2:], "--job", "x",
                           "--db", f"sqlite:///{path}")  # fmt: skip
    assert code == 2 and "error:" in err
    assert not list(tmp_path.glob("fresh.db*"))
    code, _, err = jobcast("train", "progress", "--job", "x", "--db", f"sqlite:///{path}")
    assert code != 0 and "no history database" in err and "unknown job" not in err


def test_a_failed_import_keeps_an_existing_history(jobcast: Jobcast, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    (tmp_path / "good.csv").write_text("execution,iteration,duration_s,scale_out\na,0,9,4\n")
    (tmp_path / "bad.csv").write_text(GAP)
    good = jobcast("import", "traces", str(tmp_path / "good.csv"), "--job", "ok", "--db", db)
    assert good[0] == 0
    code, _, _ = jobcast("import", "traces", str(tmp_path / "bad.csv"), "--job", "x", "--db", db)
    assert code == 2 and (tmp_path / "h.db").exists()
    with sqlite3.connect(tmp_path / "h.db") as conn:
        assert conn.execute("SELECT name FROM jobs").fetchall() == [("ok",)]


def test_decimal_commas_need_and_take_the_decimal_option(jobcast: Jobcast, tmp_path: Path) -> None:
    """The hint names --decimal ,: import traces has the option (as import csv)."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    (tmp_path / "t.csv").write_text(
        "execution;iteration;duration_s;scale_out;size\na;0;1,5;2;2,5\na;1;2;2;2,5\n"
    )
    args = ("import", "traces", str(tmp_path / "t.csv"), "--job", "a", "--context", "size")
    code, _, err = jobcast(*args, "--db", db)
    assert code == 2 and "--decimal ," in err and "line 2" in err
    code, out, _ = jobcast(*args, "--decimal", ",", "--db", db, "--json")
    assert code == 0 and json.loads(out)["imports"][0]["executions"] == 1
    rows = sqlite3.connect(tmp_path / "h.db").execute("SELECT duration_s FROM iterations")
    assert sorted(r[0] for r in rows) == [1.5, 2.0]


#: A trace with a column for every role of `import traces`.
FULL = (
    "e,i,d,n,rec,c,dk,nt,size,s,f,rs,rf\n"
    "a,0,1,4,9,0.5,1,1,10,2021-07-04 19:22:18,2021-07-04 19:22:19,"
    "2021-07-04 19:22:18,2021-07-04 19:22:30\n"
)
ROLES = {
    "--execution": "e", "--iteration": "i", "--duration": "d", "--scale-out": "n",
    "--records": "rec", "--cpu": "c", "--disk": "dk", "--net": "nt", "--input-size": "size",
    "--started": "s", "--finished": "f", "--run-started": "rs", "--run-finished": "rf",
    "--context": "size",
}  # fmt: skip


def _options(help_text: str) -> set[str]:
    return {w.strip(",.;()[]`'\"") for w in help_text.split() if w.startswith("--")}


@pytest.mark.parametrize("wrong", sorted(ROLES))
def test_a_missing_column_names_the_option_that_picks_it(
    jobcast: Jobcast, tmp_path: Path, wrong: str
) -> None:
    """Was: --started STARTED_AT.2 told to "name the right one with --started-at"."""
    (tmp_path / "t.csv").write_text(FULL)
    code, help_text, _ = jobcast("import", "traces", "--help")
    assert code == 0
    options = _options(help_text)
    args = [a for option, column in ROLES.items() for a in (option, column)]
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, out, err = jobcast("import", "traces", str(tmp_path / "t.csv"), "--job", "j", *args,
                             "--db", db, "--json")  # fmt: skip
    assert code == 0, err
    at = args.index(wrong) + 1
    args[at] = "NOPE"
    code, _, err = jobcast("import", "traces", str(tmp_path / "t.csv"), "--job", "k", *args,
                           "--db", db)  # fmt: skip
    message = " ".join(err.split())
    assert code == 2 and "there is no column 'NOPE'" in message, message
    named = message.split("name the right one with ")[1].rstrip(".")
    assert named == wrong and named in options


@pytest.mark.parametrize("given", ["--run-started", "--run-finished"])
def test_one_run_time_column_alone_is_refused(
    jobcast: Jobcast, tmp_path: Path, given: str
) -> None:
    """Was: --run-started alone was ignored, even naming no column of the file."""
    (tmp_path / "t.csv").write_text(FULL)
    code, _, err = jobcast("import", "traces", str(tmp_path / "t.csv"), "--job", "j",
                           "--execution", "e", "--iteration", "i", "--duration", "d",
                           "--scale-out", "n", given, "NOPE",
                           "--db", f"sqlite:///{tmp_path / 'h.db'}")  # fmt: skip
    other = "--run-finished" if given == "--run-started" else "--run-started"
    assert code == 2 and f"{given} needs {other}" in " ".join(err.split()), err


@pytest.mark.parametrize("stamp", ["12.07.2021 19:22:18", "07/12/2021 19:22:18", "4.7.21 19:22"])
def test_a_day_or_month_first_date_is_refused_not_guessed(
    jobcast: Jobcast, tmp_path: Path, stamp: str
) -> None:
    """Was: each value's format guessed on its own, 12.07.2021 stored as 7 December and
    13.07.2021 as 13 July in one file, with "Imported" and no word."""
    path = tmp_path / "de.csv"
    path.write_text(
        "execution,iteration,duration_s,scale_out,started_at,finished_at\n"
        "r1,0,1.0,4,2021-07-13 19:22:17,2021-07-13 19:22:18\n"
        f"r1,1,1.0,4,{stamp},2021-07-13 19:22:20\n"
    )
    db = tmp_path / "h.db"
    code, _, err = jobcast(
        "import", "traces", str(path), "--job", "j", "--started", "started_at",
        "--finished", "finished_at", "--db", f"sqlite:///{db}",
    )
    said = " ".join(err.split())
    assert code == 2 and "line 3" in said and "'started_at'" in said, err
    assert "is not an ISO 8601 time" in said and "year first" in said
    assert not db.exists()


def test_iso_times_with_a_t_a_zone_or_utc_are_read() -> None:
    from jobcast.history.importers.iso_times import iso_time

    utc = "2021-07-04 17:22:18+00:00"
    for cell in ("2021-07-04T19:22:18+02:00", "2021-07-04 17:22:18Z", "2021-07-04 17:22:18 UTC"):
        ts = iso_time(cell)
        assert ts is not None and str(ts.tz_convert("UTC")) == utc, cell
    assert iso_time("2021-07-04 19:22:18.08") is not None
    assert iso_time("2021-13-40") is None and iso_time("2021-07-04 19:22:18 CEST") is None
