"""A real PySpark application followed by the service, its ETA seen in headless chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jobcast.history import HistoryRepository
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings
from tests.service.conftest import running_server
from tests.workloads import spark_batch
from tests.workloads.spark_batch import free_port

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RUN = {"name": "kmeans", "size": 4000, "codec": None, "rolling": False}


def _non_blank(png: bytes) -> bool:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    lo, hi = img.getextrema()
    return hi - lo > 50 and sum(1 for n in img.histogram() if n) > 10


def test_live_run_on_the_dashboard(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does)")
    from playwright.sync_api import sync_playwright

    port = free_port()
    history = [{**RUN, "params": {"iterations": 5, "tol": 0.0}} for _ in range(3)]
    live = {**RUN, "params": {"iterations": 5, "pause_s": 2.5, "tol": 0.0}, "ui_port": port}
    events = tmp_path / "events"
    events.mkdir()
    proc = subprocess.Popen(
        [sys.executable, spark_batch.__file__, str(tmp_path), json.dumps([*history, live])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    url = f"sqlite:///{tmp_path / 'history.db'}"
    settings = ServiceSettings(
        sources=(f"http://127.0.0.1:{port}", f"file://{events}"),
        source_job="kmeans",
        watch_interval_s=1.0,
    )
    app = create_app(url, settings=settings)
    token = app.state.tokens.create("read").token
    shots = tmp_path / "shots"
    shots.mkdir()
    try:
        with running_server(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1200, "height": 700})
            context.add_cookies(
                [{"name": "jobcast_token", "value": token, "url": base}]  # type: ignore[list-item]
            )
            page = context.new_page()
            page.goto(base + "/")
            assert page.title() == "jobcast"
            seen = None
            deadline = time.monotonic() + 600
            while seen is None and time.monotonic() < deadline and proc.poll() is None:
                page.wait_for_timeout(1000)
                for row in page.query_selector_all("#running tbody tr[data-execution]"):
                    remaining = (row.query_selector("td.remaining") or row).inner_text().strip()
                    finish = (row.query_selector("td.finish") or row).inner_text().strip()
                    if remaining and finish:
                        seen = (row.get_attribute("data-execution"), remaining, finish)
                        break
            assert seen is not None, f"no ETA appeared; spark stderr: {proc.stderr.read()[-3000:]}"  # type: ignore[union-attr]
            app_id, remaining, finish = seen
            png = page.screenshot(path=str(shots / "running.png"), full_page=True)
            assert _non_blank(png)
            assert page.query_selector(f'tr[data-execution="{app_id}"] .bar > div') is not None
            assert "kmeans" in page.inner_text("#running")
            proc.wait(timeout=600)
            assert proc.returncode == 0, proc.stderr.read()[-3000:]  # type: ignore[union-attr]
            # the run is recorded as finished, once
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(120):
                ex = httpx.get(f"{base}/api/v1/executions/{app_id}", headers=headers).json()
                if ex.get("state") == "finished":
                    break
                time.sleep(1)
            assert ex["state"] == "finished" and ex["gross_runtime"] > 0
            page.goto(f"{base}/jobs/kmeans")
            assert page.inner_text("#job-name") == "kmeans"
            assert app_id in page.inner_text("#executions")
            assert _non_blank(page.screenshot(path=str(shots / "job.png"), full_page=True))
            browser.close()
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        with HistoryRepository(url) as repo:
            frame = repo.executions("kmeans", only_completed=False)
        ids = frame["external_id"].tolist()
        assert ids.count(app_id) == 1
        assert sorted(ids) == sorted(m["app_id"] for m in manifest)
        assert frame["gross_runtime"].notna().all()
    finally:
        if proc.poll() is None:
            proc.kill()
