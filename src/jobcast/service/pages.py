"""The dashboard: server-rendered pages (Jinja2) with a small polling script, no build step."""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from jobcast.app.service_reads import job_version, list_executions
from jobcast.errors import JobcastError
from jobcast.history import HistoryRepository
from jobcast.history.checks import address_problem
from jobcast.service.auth import Authenticator
from jobcast.service.models import ModelStore
from jobcast.service.page_access import access_router, page_guard
from jobcast.service.settings import ServiceSettings
from jobcast.service.watch import Watcher

__all__ = ["pages_router", "mount_static", "runtime_chart", "job_href", "job_api_href"]

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
#: Most executions the job page lists (the newest).
HISTORY_ROWS = 200


def _segment(name: str) -> str:
    # every character but letters, digits and "_.-~" escaped, as live.js's jobSegment does
    return quote(name, safe="")


def job_href(name: str) -> str | None:
    """The address of job ``name``'s page; None for a name no address can hold.

    Names with ``/``, and ``.`` and ``..``, are refused for new jobs (see
    :func:`jobcast.history.checks.address_problem`); a history may hold some from
    before. ``static/live.js`` builds the same addresses.
    """
    return None if address_problem(name) else f"/jobs/{_segment(name)}"


def job_api_href(name: str) -> str:
    """The API's list of job ``name``'s executions, an address for any name."""
    return f"/api/v1/executions?job={_segment(name)}"


def _number(v: Any) -> bool:
    """Whether ``v`` is a finite number (not None, a missing value or NaN)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _seconds(v: Any) -> str:
    if not _number(v):
        return ""
    v = max(0, round(v))
    h, m, s = v // 3600, (v % 3600) // 60, v % 60
    return (f"{h}h " if h else "") + (f"{m}m " if h or m else "") + f"{s}s"


def _interval(v: Any) -> str:
    if not isinstance(v, list | tuple) or len(v) != 2 or not all(map(_number, v)):
        return ""
    return f"{_seconds(v[0])} – {_seconds(v[1])}"


def _risk(v: Any) -> str:
    return f"{100 * v:.0f} %" if _number(v) else ""


#: What the dashboard shows of a running execution without an ETA (no usable history
#: for its job, or none estimated yet): every cell empty.
_NO_ETA: dict[str, Any] = {
    "progress": None,
    "elapsed_s": None,
    "remaining_s": None,
    "finish_at": None,
    "interval_s": None,
    "deadline_risk": None,
    "warnings": [],
}


def _templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(_HERE / "templates"))
    t.env.filters["seconds"] = _seconds
    t.env.filters["interval"] = _interval
    t.env.filters["risk"] = _risk
    t.env.filters["job_href"] = job_href
    t.env.filters["job_api_href"] = job_api_href
    return t


def runtime_chart(
    points: list[tuple[float, float]], fit: list[tuple[float, float]], *, title: str
) -> str:
    """An inline SVG of runtimes (dots) against scale-out with the model's fit (a line)."""
    if not points:
        return ""
    w, h, pad = 560, 300, 48
    xs = [p[0] for p in points + fit]
    ys = [p[1] for p in points + fit]
    x0, x1 = min(xs), max(xs)
    y0, y1 = 0.0, max(ys) * 1.1 or 1.0
    x1 = x1 if x1 > x0 else x0 + 1

    def px(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (w - 2 * pad)

    def py(y: float) -> float:
        return h - pad - (y - y0) / (y1 - y0) * (h - 2 * pad)

    dots = "".join(
        f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="#3b82f6" opacity=".7"/>'
        for x, y in points
    )
    line = ""
    if len(fit) > 1:
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(fit))
        line = f'<polyline points="{path}" fill="none" stroke="#dc2626" stroke-width="2"/>'
    ticks = "".join(
        f'<text x="{px(x):.1f}" y="{h - pad + 16}" font-size="11" text-anchor="middle">{x:g}</text>'
        for x in sorted({p[0] for p in points})
    )
    yticks = "".join(
        f'<text x="{pad - 6}" y="{py(v):.1f}" font-size="11" text-anchor="end">{v:.0f}</text>'
        for v in (y1 * k / 4 for k in range(5))
    )
    return (
        f'<svg id="runtime-chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'role="img" aria-label="{html.escape(title)}">'
        f'<rect x="{pad}" y="{pad}" width="{w - 2 * pad}" height="{h - 2 * pad}" fill="#fafafa" '
        f'stroke="#ccc"/>{dots}{line}{ticks}{yticks}'
        f'<text x="{w / 2}" y="{h - 8}" font-size="12" text-anchor="middle">scale-out</text>'
        f'<text x="12" y="{h / 2}" font-size="12" transform="rotate(-90 12 {h / 2})" '
        f'text-anchor="middle">runtime (s)</text></svg>'
    )


def mount_static(app: Any) -> None:
    """Serve the dashboard's script."""
    app.mount("/static/jobcast", StaticFiles(directory=str(_HERE / "static")), name="jobcast")


def _job_reads(repo: HistoryRepository, job: str) -> dict[str, Any]:
    """What the job page reads from the history (in a thread: the queries block)."""
    frame = repo.executions(job, only_completed=False)
    done = frame.dropna(subset=["scale_out", "gross_runtime"])
    return {
        "points": [
            (float(m), float(r))
            for m, r in zip(done["scale_out"], done["gross_runtime"], strict=True)
        ],
        # the version the API's predictions are kept by: a replaced execution changes it
        "version": job_version(repo, job),
        "executions": list_executions(repo, job=job, limit=HISTORY_ROWS),
        "total": len(frame),
    }


async def _typical(models: ModelStore, job: str, version: Any) -> tuple[Any, str | None]:
    """The job page's predictions from the model workers, or why there are none.

    A job without a usable model still gets its page, with the reason (kept per job
    version like the API's answers); an unexpected error is logged with its traceback
    and not kept, so the next view tries again.
    """
    try:
        return await models.typical(job, version), None
    except JobcastError as e:
        logger.info("no predictions on the page of job %r: %s", job, e)
        return None, str(e)
    except Exception:
        logger.exception("predicting for the page of job %r failed", job)
        return None, "the prediction failed unexpectedly (the service's log has the details)"


def pages_router(
    repo: HistoryRepository, auth: Authenticator, settings: ServiceSettings, watcher: Watcher
) -> APIRouter:
    """``/`` (running executions and jobs), ``/jobs/{job}``, ``/shares``, ``/login``, ``/logout``.

    Without a valid ``read`` token (cookie), a page answers the token form with the
    reason (401 or 403), never the API's JSON.
    """
    templates = _templates()
    denied = Depends(page_guard(auth, templates))
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request, refusal: Response | None = denied) -> Response:
        if refusal is not None:
            return refusal
        etas = watcher.snapshot()
        running = [
            {**ex, "eta": {**_NO_ETA, **etas.get((ex["job"], ex["id"]), {})}}
            for ex in list_executions(repo, state="running")
        ]
        jobs = repo.list_jobs()
        return templates.TemplateResponse(request, "index.html", {"running": running, "jobs": jobs})

    @router.get("/jobs/{job}", response_class=HTMLResponse)
    async def job_page(request: Request, job: str, refusal: Response | None = denied) -> Response:
        if refusal is not None:
            return refusal
        shown = await run_in_threadpool(_job_reads, repo, job)
        prediction, error = None, None
        if shown["points"]:
            prediction, error = await _typical(watcher.models, job, shown["version"])
        line = [(float(m), p) for m, p in prediction.rows] if prediction is not None else []
        return templates.TemplateResponse(
            request,
            "job.html",
            {
                "job": job,
                "chart": runtime_chart(
                    shown["points"], line, title=f"runtime of {job} by scale-out"
                ),
                "prediction": prediction,
                "prediction_error": error,
                "executions": shown["executions"],
                "total_executions": shown["total"],
            },
        )

    @router.get("/shares", response_class=HTMLResponse)
    def shares(request: Request, refusal: Response | None = denied) -> Response:
        from jobcast.app.hub import list_shares

        if refusal is not None:
            return refusal
        ledger = [
            {
                "job": j.name,
                "budget": repo.privacy_budget(j.name),
                "spent": repo.spent_epsilon(j.name),
                "releases": repo.releases(j.name),
            }
            for j in repo.list_jobs()
        ]
        return templates.TemplateResponse(
            request, "shares.html", {"ledger": ledger, "hub": list_shares(repo)}
        )

    router.include_router(access_router(auth, templates))
    return router
