"""`jobcast import eventlog` of a log the history holds already: said so, with what it holds."""

from __future__ import annotations

import json
from pathlib import Path

from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.collect.test_eventlog import crafted_log, write


def _log(folder: Path, app_id: str = "app-1", *, running: bool = False) -> Path:
    lines = crafted_log()  # 3 iterations
    lines[1] = lines[1].replace("app-1", app_id)
    if running:
        return write(folder / f"{app_id}.inprogress", lines[:-1])  # no application end
    return write(folder / app_id, lines)


def test_second_import_json_says_already_there_with_the_held_iterations(
    tmp_path: Path, jobcast: Jobcast
) -> None:
    log = _log(tmp_path)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    args = ("import", "eventlog", str(log), "--job", "J", "--db", db, "--json")
    code, out, err = jobcast(*args)
    assert code == 0, err
    [first] = json.loads(out)["imports"]
    assert first["status"] == "recorded" and not first["skipped"] and first["iterations"] == 3
    code, out, err = jobcast(*args)
    assert code == 0, err
    summary = json.loads(out)
    [again] = summary["imports"]
    assert summary["skipped"] == 1
    assert again["skipped"] is True and again["status"] == "already there"
    # what the history holds of the run, not 0 as if it had no iterations
    assert again["iterations"] == first["iterations"] == 3
    assert again["completed"] and not again["updated"] and again["execution"] == "app-1"
    # the keys of the first import's summary stay, status added
    assert list(again) == [*first] and list(first)[-1] == "status"
    with HistoryRepository(db) as repo:
        assert len(repo.executions("J", only_completed=False)) == 1
        assert len(repo.iterations("J")) == 3


def test_second_import_says_nothing_was_imported(tmp_path: Path, jobcast: Jobcast) -> None:
    log = _log(tmp_path)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, out, err = jobcast("import", "eventlog", str(log), "--job", "J", "--db", db)
    assert code == 0 and out.startswith("Imported app-1 with 3 iterations into 'J'."), err
    code, out, err = jobcast("import", "eventlog", str(log), "--job", "J", "--db", db)
    assert code == 0, err
    assert " ".join(out.split()) == (
        "Nothing imported: the history holds app-1 (job 'J', 3 iterations) already."
    )
    assert "Imported" not in out and err == ""


def test_a_grown_folder_imports_the_new_runs_and_names_the_held_ones(
    tmp_path: Path, jobcast: Jobcast
) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    _log(folder, "app-1")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert jobcast("import", "eventlog", str(folder), "--job", "J", "--db", db)[0] == 0
    _log(folder, "app-2")
    code, out, err = jobcast("import", "eventlog", str(folder), "--job", "J", "--db", db)
    assert code == 0, err
    assert out.splitlines()[0] == "Imported app-2 with 3 iterations into 'J'."
    assert " ".join(out.split()).endswith(
        "Skipped 1 run the history holds already: app-1 (job 'J', 3 iterations)."
    )
    for k in range(3, 10):
        _log(folder, f"app-{k}")
    assert jobcast("import", "eventlog", str(folder), "--job", "J", "--db", db)[0] == 0
    code, out, err = jobcast("import", "eventlog", str(folder), "--job", "J", "--db", db)
    assert code == 0, err
    text = " ".join(out.split())
    assert text.startswith("Nothing imported: the history holds all 9 runs already: ")
    assert text.endswith(", and 4 more.") and text.count("(job 'J', 3 iterations)") == 5


def test_a_run_completed_from_the_longer_log_says_completed(
    tmp_path: Path, jobcast: Jobcast
) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    running = _log(tmp_path, running=True)
    code, out, err = jobcast("import", "eventlog", str(running), "--job", "J", "--db", db, "--json")
    assert code == 0, err
    [first] = json.loads(out)["imports"]
    assert first["status"] == "recorded" and not first["completed"]
    running.unlink()
    done = _log(tmp_path)
    code, out, err = jobcast("import", "eventlog", str(done), "--job", "J", "--db", db, "--json")
    assert code == 0, err
    [second] = json.loads(out)["imports"]
    assert second["status"] == "completed" and second["updated"] and not second["skipped"]
    assert second["iterations"] == 3
