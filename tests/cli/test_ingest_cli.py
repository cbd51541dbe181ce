"""Getting histories in from the command line: growing logs, defaults, server messages."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobcast.collect import read_event_log
from jobcast.collect.grouping import DEFAULT_ITERATIONS
from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.service.conftest import free_port
from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]  # the real PySpark runs' fixtures


@pytest.mark.spark
@pytest.mark.slow
def test_watch_completes_a_run_imported_while_running(
    tmp_path: Path, jobcast: Jobcast, real_logs: dict[str, Path]
) -> None:
    log = real_logs["cc"]
    db = f"sqlite:///{tmp_path / 'h.db'}"
    lines = log.read_bytes().split(b"\n")
    partial = tmp_path / (log.name + ".inprogress")
    partial.write_bytes(b"\n".join(lines[: len(lines) // 2]) + b"\n")
    code, out, err = jobcast("import", "eventlog", str(partial), "--job", "cc", "--db", db)
    assert code == 0, err
    assert "still running" in out
    code, out, err = jobcast(
        "watch", "--eventlog", str(log), "--job", "cc", "--interval", "0.05",
        "--timeout", "60", "--db", db, "--json",
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["recorded"] == "completed"
    full = read_event_log(log)
    with HistoryRepository(db) as repo:
        frame = repo.executions("cc", only_completed=False)
        assert len(frame) == 1
        assert frame["gross_runtime"].iloc[0] == pytest.approx(full.run.gross_runtime_s)
        assert len(repo.iterations("cc")) == len(full.iterations)
    # once complete, watching it again says so and writes nothing
    code, out, err = jobcast(
        "watch", "--eventlog", str(log), "--job", "cc", "--interval", "0.05",
        "--timeout", "60", "--db", db,
    )
    assert code == 0, err
    assert "holds it already recorded" in " ".join(out.split())


def test_every_import_route_defaults_to_auto_iterations(jobcast: Jobcast) -> None:
    for command in (("import", "remote"), ("import", "history-server")):
        code, out, _ = jobcast(*command, "--help")
        assert code == 0
        text = " ".join(out.replace("│", " ").split())
        assert f"[default: {DEFAULT_ITERATIONS}]" in text, command
        assert "auto (job groups" in text, command


@pytest.fixture
def not_a_history_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server that is no Spark History Server (it serves a folder)."""
    (tmp_path / "index.html").write_text("<html>\n<body>hello</body>\n</html>\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_history_server_errors_are_one_line_input_errors(
    jobcast: Jobcast, not_a_history_server: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, _, err = jobcast("import", "history-server", not_a_history_server, "--db", db)
    assert code == 2
    assert "is " + not_a_history_server + " a Spark History Server" in " ".join(err.split())
    assert "\\n" not in err
    gone = f"http://127.0.0.1:{free_port()}"
    code, _, err = jobcast("import", "history-server", gone, "--db", db)
    assert code == 2
    assert f"cannot reach {gone}" in err and "spark.ui.enabled" not in err
