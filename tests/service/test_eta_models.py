"""ETAs against models fitted off the request path: same answers as the CLI, readiness."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jobcast.app.progress import eta_with, fit_wall_clock
from jobcast.app.service_reads import running_eta
from jobcast.cli import app as cli
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.importers import read_c3o
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings
from tests.conftest import shared_file
from tests.service.conftest import T0, iterative_history, record_run


def _back_to_back(repo: HistoryRepository, run: str, durations: list[float], *, finish: bool):
    """A run whose iterations follow each other without pauses (wall clock = iteration time)."""
    return record_run(repo, "loop", run, durations, start=T0, finish=finish, gap=0.0, tail=0.0)


def test_the_service_eta_is_the_cli_estimate(db_url: str, tmp_path: Path) -> None:
    """Without pauses between iterations the wall-clock ETA is ``jobcast estimate``'s."""
    base = [10.0, 11.0, 9.5, 12.0, 10.5, 9.0, 11.5, 10.0]
    with HistoryRepository(db_url) as repo:
        for r in range(8):
            _back_to_back(repo, f"old-{r}", [d * (1 + 0.07 * r) for d in base], finish=True)
        now = _back_to_back(repo, "now", [d * 1.2 for d in base[:3]], finish=False)
    current = tmp_path / "current.csv"
    pd.DataFrame(
        {"iteration": [0, 1, 2], "duration_s": [d * 1.2 for d in base[:3]], "scale_out": 4}
    ).to_csv(current, index=False)
    r = CliRunner().invoke(
        cli, ["estimate", "--job", "loop", "--current", str(current), "--json", "--db", db_url]
    )
    assert r.exit_code == 0, r.output
    expected = json.loads(r.stdout)

    app = create_app(db_url, settings=ServiceSettings(require_tokens=False, model_workers=1))
    with TestClient(app):
        got = app.state.watcher.estimate("now", now=now)
    assert got["iterations_done"] == 3
    assert got["remaining_s"] == pytest.approx(expected["remaining_s"], rel=1e-6)
    assert got["interval_s"] == pytest.approx(expected["interval_s"], rel=1e-6)
    assert got["similar"] == [s["execution"] for s in expected["similar"]][:10]


def test_the_fast_read_is_the_whole_history_read(db_url: str) -> None:
    """``running_eta`` reads one execution and answers exactly as ``eta_with``."""
    with HistoryRepository(db_url) as repo:
        durations = iterative_history(repo)
        now = _back_to_back(repo, "now", durations[:4], finish=False) + timedelta(seconds=7)
        model = fit_wall_clock(repo, "loop")
        for deadline in (None, 60.0, 500.0):
            fast = running_eta(model, repo, "now", deadline_s=deadline, now=now)
            assert fast == eta_with(model, repo, "loop", "now", deadline_s=deadline, now=now)


def test_both_reads_cut_a_run_at_its_first_unfinished_iteration(db_url: str) -> None:
    """A run reported without a scale-out whose iteration 3 is still running while 4 ended
    (reports out of order): both reads estimate from iterations 0-2 at the history's
    typical scale-out, the same answer."""
    with HistoryRepository(db_url) as repo:
        durations = iterative_history(repo)
        repo.start_execution(JobSpec("loop"), "holes", started_at=T0)
        t = T0
        for i, d in enumerate(durations[:5]):
            end = t + timedelta(seconds=d)
            values = {"started_at": t} if i == 3 else {"started_at": t, "finished_at": end}
            repo.record_iteration("loop", "holes", i, values=values)
            t = end
        model = fit_wall_clock(repo, "loop")
        assert model.typical_scale_out_ == 4
        fast = running_eta(model, repo, "holes", now=t)
        assert fast == eta_with(model, repo, "loop", "holes", now=t)
        assert fast.iterations_done == 3


def test_models_warm_at_start_and_survive_running_iterations(tmp_path: Path) -> None:
    """Health says when the models are ready; a running run's iterations keep the model."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryRepository(url) as repo:
        durations = iterative_history(repo)
        _back_to_back(repo, "now", durations[:2], finish=False)
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
    app = create_app(url, settings=ServiceSettings(require_tokens=False, watch_interval_s=3600))
    with TestClient(app) as c:
        for _ in range(600):
            health = c.get("/api/v1/health").json()
            if health["ready"]:
                break
            time.sleep(0.2)
        assert health["ready"]
        assert health["progress_models"] == {"loop": "ready", "sort": "not enough data"}
        models = app.state.models
        model, version = models.progress("loop"), models.fitted_version("loop")
        first = c.get("/api/v1/executions/now/eta", params={"deadline_s": 300}).json()
        assert first["iterations_done"] == 2
        with HistoryRepository(url) as repo:  # the running execution reports an iteration
            repo.record_iteration("loop", "now", 2, values={"duration_s": durations[2]})
        app.state.watcher.tick()
        assert models.progress("loop") is model and models.fitted_version("loop") == version
        assert c.get("/api/v1/executions/now/eta").json()["iterations_done"] == 3
        with HistoryRepository(url) as repo:  # a finished execution: refitted in the background
            repo.finish_execution("loop", "now", finished_at=T0 + timedelta(hours=1))
        app.state.watcher.tick()
        for _ in range(600):
            if models.fitted_version("loop") != version:
                break
            time.sleep(0.2)
        assert models.fitted_version("loop")[0] == version[0] + 1  # one more finished run
        assert models.progress("loop") is not model
        # `jobcast train progress` stored parameters: refitted with them
        version = models.fitted_version("loop")
        with HistoryRepository(url) as repo:
            repo.save_progress_parameters("loop", {"scale_out_model": "bell"})
        app.state.watcher.tick()
        for _ in range(600):
            if models.fitted_version("loop") != version:
                break
            time.sleep(0.2)
        assert models.fitted_version("loop")[:-1] == version[:-1]  # the same executions
        assert models.fitted_version("loop")[-1] != version[-1] == ""  # trained
