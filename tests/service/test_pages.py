"""The dashboard's pages render (server side): running executions, a job's chart, shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobcast.history import HistoryRepository
from jobcast.history.importers import read_c3o
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings
from tests.conftest import shared_file
from tests.service.conftest import iterative_history, record_run


def test_pages(db_url: str) -> None:
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
        durations = iterative_history(repo)
        # a second after its fourth iteration ended: on time
        start = datetime.now(UTC) - timedelta(seconds=sum(durations[:4]) + 3 * 2.0 + 1)
        record_run(repo, "loop", "now", durations[:4], start=start, finish=False)
        record_run(repo, "loop", "huge", durations[:4], start=start, finish=False, scale_out=900)
    settings = ServiceSettings(anonymous_read=True, deadlines=(("loop", 100.0),))
    app = create_app(db_url, settings=settings)
    with TestClient(app) as c:
        app.state.watcher.tick()
        index = c.get("/").text
        assert 'data-execution="now"' in index and "/static/jobcast/live.js" in index
        assert 'href="/jobs/sort"' in index
        row = index.split('data-execution="now"')[1].split("</tr>")[0]
        assert 'class="remaining">' in row and "s</td>" in row  # a remaining time is shown
        assert 'class="warn"' not in row
        # an ETA for a scale-out far outside the history's is marked, the warning its title
        huge = index.split('data-execution="huge"')[1].split("</tr>")[0]
        assert 'class="warn" title="the running execution&#39;s scale-out 900 lies far' in huge
        assert c.get("/static/jobcast/live.js").status_code == 200
        page = c.get("/jobs/sort").text
        assert '<h1 id="job-name">sort</h1>' in page
        assert '<svg id="runtime-chart"' in page and "<circle" in page and "<polyline" in page
        assert 'id="predictions"' in page
        shares = c.get("/shares").text
        assert 'id="ledger"' in shares and "no shares published" in shares
        assert c.get("/jobs/nope").status_code == 404
        assert "<form" in c.get("/login").text
