"""The dashboard's pages render (server side): running executions, a job's chart, shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobcast.history import HistoryRepository
from jobcast.history.importers import read_c3o
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings
from tests.conftest import shared_file
from tests.service.conftest import T0, iterative_history, record_run


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


#: Names that need escaping in an address (kept by the check); "team/etl" and ".." were
#: accepted before names with "/", "." and ".." were refused and stay in old histories.
ODD = "a b&c'(x)*!ü~100%?#"
LEGACY = ("team/etl", "..")


def _odd_history(db_url: str) -> None:
    from sqlalchemy import text

    with HistoryRepository(db_url) as repo:
        with repo.engine.begin() as conn:
            for name in LEGACY:
                conn.execute(
                    text(
                        "insert into jobs (name, runtime_column, created_at) values (:n, 'r', :t)"
                    ),
                    {"n": name, "t": datetime(2026, 1, 1, tzinfo=UTC)},
                )
        start = datetime.now(UTC) - timedelta(seconds=30)
        for i, name in enumerate((ODD, *LEGACY)):
            record_run(repo, name, f"old-{i}", [5.0, 5.0], start=start, finish=True)
            record_run(repo, name, f"now-{i}", [5.0], start=start, finish=False)


def _hrefs(page: str) -> list[str]:
    import re

    return [html_unescape(h) for h in re.findall(r'<a (?:class="[^"]*" )?href="([^"]+)"', page)]


def html_unescape(s: str) -> str:
    import html

    return html.unescape(s)


def test_job_links_encode_the_name_fully(db_url: str) -> None:
    """Was: /jobs/team/etl (Jinja's urlencode keeps "/") and a link of ".." to the index."""
    from urllib.parse import quote

    from jobcast.service.pages import job_href

    _odd_history(db_url)
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        index = c.get("/").text
        links = [h for h in _hrefs(index) if h.startswith(("/jobs/", "/api/"))]
        odd = "/jobs/" + quote(ODD, safe="")
        assert odd == "/jobs/a%20b%26c%27%28x%29%2A%21%C3%BC~100%25%3F%23"
        assert links.count(odd) == 2  # running and jobs tables
        assert '<h1 id="job-name">' + "a b&amp;c&#39;(x)*!ü~100%?#</h1>" in c.get(odd).text
        # old names no address can hold: no page link, their executions through ?job=
        for name in LEGACY:
            assert job_href(name) is None
            api = f"/api/v1/executions?job={quote(name, safe='')}"
            assert links.count(api) == 2, (name, links)
            assert {e["job"] for e in c.get(api).json()["executions"]} == {name}
        assert not any(h.startswith("/jobs/team") or h.startswith("/jobs/.") for h in links)


def test_live_js_links_jobs_as_the_pages_do(tmp_path: Path) -> None:
    """Was: live.js linked /jobs/team%2Fetl (404) where the page linked /jobs/team/etl."""
    import os
    import re
    from urllib.parse import quote

    import httpx

    from tests.service.conftest import running_server

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{chromium} is missing: apt-get install chromium (make test does)")
        pytest.skip(f"{chromium} is missing (make browser installs it)")
    from playwright.sync_api import sync_playwright

    url = f"sqlite:///{tmp_path / 'history.db'}"
    _odd_history(url)
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    app = create_app(url, settings=settings)
    with running_server(app) as base, sync_playwright() as pw:
        served = httpx.get(base + "/").text
        table = served.split('<table id="running">')[1].split("</table>")[0]
        rendered = [html_unescape(h) for h in re.findall(r'href="([^"]+)"', table)]
        assert len(rendered) == 3
        browser = pw.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            page = browser.new_page()
            page.goto(base + "/")
            page.wait_for_function("document.body.dataset.refreshed !== undefined")
            live = page.eval_on_selector_all(
                "#running a", "els => els.map(e => e.getAttribute('href'))"
            )
            assert live == rendered
            names = [ODD, "x/y", "..", ".", "~_.-", "日本 語", "'!*()"]
            segments = page.evaluate(
                "names => names.map(n => window.jobcastLinks.jobSegment(n))", names
            )
            assert segments == [quote(n, safe="") for n in names]
        finally:
            browser.close()


def test_job_page_says_what_it_predicts_for_and_how_much_it_lists(db_url: str) -> None:
    """Was: "attributes at the history's median" (r4.2xlarge unsaid), 200 of 900 unsaid."""
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(shared_file("c3o", "kmeans.tsv"), job="kmeans"))
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        page = c.get("/jobs/kmeans").text
        basis = page.split('<table id="prediction-basis">')[1].split("</table>")[0]
        cells = [row.split("</td><td") for row in basis.split("<tr><td>")[1:]]
        shown = {cell[0]: cell[1].split(">", 1)[-1].split("<")[0] for cell in cells}
        assert shown["machine type"] == "r4.2xlarge" and "most common of 3" in basis
        assert shown["data_size_MB"] == "18600" and shown["k"] == "5"
        assert shown["slots"] == "" and "from the machine type and the scale-out" in basis
        assert "at the history's median" not in page
        assert 'id="executions-shown"' in page and "latest 200 of 900 executions" in page
        assert page.split('<table id="executions">')[1].count("<tr><td>") == 200
        # the median of sort's 36 sizes lies between two: the nearer size the history holds
        sort = c.get("/jobs/sort").text
        assert "<td>data_size_MB</td><td>13482</td>" in sort
        assert "observed value nearest the median 14445" in sort
        assert 'id="executions-shown"' not in sort  # all 36 listed


def test_typical_values_are_values_the_history_holds() -> None:
    import pandas as pd

    from jobcast.app.predict import typical_values
    from jobcast.history import Attribute, AttributeKind

    frame = pd.DataFrame(
        {
            "machine_type": ["b", "a", "a", "b", None],
            "size": [1.0, 2.0, 3.0, 10.0, None],  # median 2.5: 2 and 3 as near, the smaller
            "mode": ["x", "y", "y", None, "x"],  # a tie: the first in order
            "slots": [4.0, 4.0, 8.0, 8.0, 8.0],
        }
    )
    attributes = [
        Attribute("size", AttributeKind.DATASET),
        Attribute("mode", AttributeKind.PARAMETER, numeric=False),
        Attribute("slots", AttributeKind.RESOURCE),
    ]
    values, machine, basis = typical_values(frame, attributes, derived={"slots"})
    assert values == {"size": 2.0, "mode": "x"} and machine == "a"
    assert [b["how"] for b in basis] == [
        "most common of 2",
        "observed value nearest the median 2.5",
        "most common of 2",
        "from the machine type and the scale-out",
    ]


def test_an_empty_history_says_how_to_import(db_url: str) -> None:
    """Was: an empty Jobs table."""
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        index = c.get("/").text
        assert 'id="no-jobs"' in index and "jobcast import c3o" in index


def _replace_run(repo: HistoryRepository, old: str, new: str, durations: list[float]) -> None:
    """Delete the finished run ``old`` of job "loop" and record ``new`` instead."""
    from sqlalchemy import text

    with repo.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(
            text("select id from executions where external_id = :e"), {"e": old}
        )]
        for i in ids:
            conn.execute(text("delete from iterations where execution_id = :i"), {"i": i})
            conn.execute(text("delete from executions where id = :i"), {"i": i})
    record_run(repo, "loop", new, durations, start=T0, finish=True)


def _predicted(page: str) -> str:
    return page.split('<table id="predictions">')[1].split("</table>")[0]


@pytest.mark.parametrize("replaced", ["run-0", "run-3"])
def test_job_page_predicts_anew_when_an_execution_is_replaced(db_url: str, replaced: str) -> None:
    """Was: kept by the count of finished executions, the page's prediction went stale.

    Replacing the newest (run-3) keeps the count and, on SQLite, the largest id too.
    """
    with HistoryRepository(db_url) as repo:
        for r, seconds in enumerate((100.0, 200.0, 300.0, 400.0)):
            record_run(repo, "loop", f"run-{r}", [seconds / 4] * 4, start=T0, finish=True)
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        before = c.get("/jobs/loop").text
        assert "no model:" not in before
        with HistoryRepository(db_url) as repo:
            # the same count of finished executions
            _replace_run(repo, replaced, "slow", [5000.0 / 4] * 4)
        after = c.get("/jobs/loop").text
        assert after.count("<circle") == before.count("<circle")
        assert _predicted(after) != _predicted(before)


def test_a_bug_in_the_page_prediction_is_logged_and_not_kept(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: ``except Exception`` kept the bug's message as the page's, never logged."""
    import logging

    import jobcast.app.predict as predict

    with HistoryRepository(db_url) as repo:
        for r, seconds in enumerate((100.0, 200.0, 300.0)):
            record_run(repo, "loop", f"run-{r}", [seconds / 4] * 4, start=T0, finish=True)
    working = predict.typical_prediction

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(predict, "typical_prediction", broken)
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        with caplog.at_level(logging.INFO, logger="jobcast.service.pages"):
            page = c.get("/jobs/loop").text
        assert "failed unexpectedly" in page and "a bug" not in page
        [record] = [r for r in caplog.records if r.name == "jobcast.service.pages"]
        assert record.levelno == logging.ERROR and record.exc_info is not None
        monkeypatch.setattr(predict, "typical_prediction", working)
        again = c.get("/jobs/loop").text  # the same version: not the kept failure
        assert "no model:" not in again and 'id="predictions"' in again
