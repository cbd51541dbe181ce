"""The lean read path of ``jobcast jobs`` answers exactly as the full repository does."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from typer.testing import CliRunner

from jobcast.app.jobs import list_jobs, quick_list_jobs
from jobcast.cli import app
from jobcast.history import ExecutionTable, HistoryRepository, IterationTable, JobSpec
from jobcast.history.records import Attribute, AttributeKind, Provenance, SourceKind
from jobcast.lean import migration_heads, read_jobs

runner = CliRunner()

# the last line says what was loaded: the lean path loads none of these, the full one all
PROBE = (
    "import sys\n"
    "from jobcast.cli import main\n"
    "sys.argv = ['jobcast', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    heavy = ('sqlalchemy', 'typer', 'pydantic')\n"
    "    print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
)


def _table(spec: JobSpec, n: int, source: SourceKind, ids: list[str] | None = None):
    frame = pd.DataFrame(
        {
            "gross_runtime": [10.0 + i for i in range(n)],
            "scale_out": [2 + i for i in range(n)],
            "machine_type": ["m4.xlarge"] * n,
            **{a: [100 * (i + 1) for i in range(n)] for a in spec.attribute_names},
        }
    )
    if ids is not None:
        frame = frame.assign(external_id=ids)
    eps = 1.0 if source == SourceKind.SHARE else None
    return ExecutionTable(spec, frame, Provenance(source, "test", eps))


def _fill(repo: HistoryRepository) -> None:
    """Jobs with several sources, attribute kinds in declared order, iterations, no rows."""
    mixed = JobSpec(
        "zeta",
        (
            Attribute("size", AttributeKind.DATASET),
            Attribute("k", AttributeKind.PARAMETER),
            Attribute("cores", AttributeKind.RESOURCE),
        ),
    )
    repo.import_executions(_table(mixed, 4, SourceKind.FILE))
    repo.import_executions(_table(mixed, 2, SourceKind.SHARE))
    looped = JobSpec("alpha", (Attribute("size", AttributeKind.DATASET),))
    table = _table(looped, 2, SourceKind.FILE, ids=["a", "b"])
    iterations = pd.DataFrame(
        {"execution": ["a", "a", "b"], "iteration": [0, 1, 0], "duration_s": [1.0, 2.0, 3.0]}
    )
    repo.import_iterations(IterationTable(table, iterations))
    repo.import_executions(_table(JobSpec("mid", ()), 1, SourceKind.FILE))


def test_lean_listing_equals_the_repository(repo: HistoryRepository) -> None:
    assert quick_list_jobs(repo.url) == list_jobs(repo) == []
    _fill(repo)
    full = list_jobs(repo)
    assert [j["name"] for j in full] == ["alpha", "mid", "zeta"]
    assert full[2]["by_source"] == {"file": 4, "share": 2} and full[0]["iterations"] == 3
    assert [a["kind"] for a in full[2]["attributes"]] == ["dataset", "parameter", "resource"]
    assert quick_list_jobs(repo.url) == full


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, "jobs", "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_lean_cli_prints_what_the_full_command_prints(
    repo: HistoryRepository, as_json: bool
) -> None:
    _fill(repo)
    flags = ["--json"] if as_json else []
    full = runner.invoke(app, ["jobs", "--db", repo.url, *flags], catch_exceptions=False)
    assert full.exit_code == 0, full.output
    lean = _cli(repo.url, *flags)
    assert lean.returncode == 0, lean.stderr
    out, _, loaded = lean.stdout.rpartition("LOADED ")
    assert loaded.strip() == "[]"  # neither SQLAlchemy nor typer nor pydantic
    assert out == full.stdout and "zeta" in out


def _alembic() -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location",
        str(Path(__file__).resolve().parents[2] / "src" / "jobcast" / "history" / "migrations"),
    )
    return cfg


def test_an_outdated_history_is_migrated_by_the_full_path(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = _alembic()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")  # the first schema only
    engine.dispose()
    assert read_jobs(url) is None
    result = _cli(url, "--json")
    assert result.returncode == 0, result.stderr
    assert "'sqlalchemy'" in result.stdout.rpartition("LOADED ")[2]  # the full path ran
    assert read_jobs(url) == []  # migrated back to every head by it


@pytest.mark.parametrize(
    ("content", "message"),
    [("CREATE TABLE jobs (x INTEGER)", "table jobs already exists"), (None, "not a database")],
)
def test_a_foreign_database_gets_the_full_paths_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    foreign = tmp_path / "other.db"
    if content is None:
        foreign.write_text("not a database at all\n" * 100)
    else:
        with closing(sqlite3.connect(foreign)) as conn:
            conn.execute(content)
    assert read_jobs(f"sqlite:///{foreign}") is None
    result = _cli(f"sqlite:///{foreign}")
    assert result.returncode == 1
    assert "error: cannot open the history database" in result.stderr and message in result.stderr


def test_a_missing_history_is_not_created(tmp_path: Path) -> None:
    # neither the lean path nor the full command creates a (mistyped) history
    missing = tmp_path / "new" / "h.db"
    assert read_jobs(f"sqlite:///{missing}") is None and not missing.exists()
    result = _cli(f"sqlite:///{missing}", "--json")
    assert result.returncode == 0 and result.stdout.startswith('{\n  "jobs": []')
    assert not missing.exists() and not missing.parent.exists()


def test_unknown_urls_and_arguments_are_left_to_typer(tmp_path: Path) -> None:
    assert read_jobs("mysql://somewhere/db") is None
    assert read_jobs(f"sqlite:///{tmp_path / 'h.db'}?mode=ro") is None
    help_text = _cli(f"sqlite:///{tmp_path / 'h.db'}", "--help")
    assert help_text.returncode == 0 and "--json" in help_text.stdout


def test_migration_heads_are_read_from_the_scripts() -> None:
    heads = ScriptDirectory.from_config(_alembic()).get_heads()
    assert len(heads) > 1 and migration_heads() == frozenset(heads)


def test_a_failing_fast_path_is_logged_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: any failure of the fast path returned None without a trace."""
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not an SQLite file" * 100)
    with caplog.at_level("DEBUG", logger="jobcast.lean"):
        assert read_jobs(f"sqlite:///{garbage}") is None
    [record] = [r for r in caplog.records if r.name == "jobcast.lean"]
    assert record.levelname == "DEBUG" and record.exc_info is not None
