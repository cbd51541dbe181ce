"""The dashboard: server-rendered pages (Jinja2) with a small polling script, no build step."""

from __future__ import annotations

import html
import logging
import math
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from jobcast.app.service_reads import list_executions
from jobcast.history import HistoryRepository
from jobcast.service.auth import Authenticator
from jobcast.service.settings import ServiceSettings
from jobcast.service.watch import Watcher

__all__ = ["pages_router", "mount_static", "runtime_chart"]

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent


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


class _FitCache:
    """Model fits per job, recomputed only when the job's number of executions changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fits: dict[str, tuple[int, dict[str, Any]]] = {}

    def get(self, repo: HistoryRepository, job: str, frame: Any) -> dict[str, Any]:
        key = len(frame)
        with self._lock:
            hit = self._fits.get(job)
        if hit is not None and hit[0] == key:
            return hit[1]
        out = self._fit(repo, job, frame)
        with self._lock:
            self._fits[job] = (key, out)
        return out

    @staticmethod
    def _fit(repo: HistoryRepository, job: str, frame: Any) -> dict[str, Any]:
        from jobcast.app.predict import predict

        spec = repo.job(job)
        scale_outs = sorted({int(m) for m in frame["scale_out"].dropna()})
        values: dict[str, Any] = {}
        for a in spec.attributes:
            col = frame[a.name].dropna()
            if col.empty:
                continue
            values[a.name] = float(col.median()) if a.numeric else col.mode().iloc[0]
        machine = frame["machine_type"].dropna()
        try:
            result = predict(
                repo,
                job,
                settings=values,
                scale_outs=scale_outs,
                machine_type=None if machine.empty else str(machine.mode().iloc[0]),
            )
        except Exception as e:  # a job without a usable model still gets its page
            return {"error": str(e)}
        rows = list(zip(scale_outs, [float(p) for p in result.predictions], strict=True))
        return {"model": result.model, "chosen": result.chosen, "rows": rows}


def mount_static(app: Any) -> None:
    """Serve the dashboard's script."""
    app.mount("/static/jobcast", StaticFiles(directory=str(_HERE / "static")), name="jobcast")


def pages_router(
    repo: HistoryRepository, auth: Authenticator, settings: ServiceSettings, watcher: Watcher
) -> APIRouter:
    """``/`` (running executions and jobs), ``/jobs/{job}``, ``/shares`` and ``/login``."""
    templates = _templates()
    read = Depends(auth.require("read"))
    fits = _FitCache()
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse, dependencies=[read])
    def index(request: Request) -> HTMLResponse:
        etas = watcher.snapshot()
        running = [
            {**ex, "eta": {**_NO_ETA, **etas.get((ex["job"], ex["id"]), {})}}
            for ex in list_executions(repo, state="running")
        ]
        jobs = repo.list_jobs()
        return templates.TemplateResponse(request, "index.html", {"running": running, "jobs": jobs})

    @router.get("/jobs/{job}", response_class=HTMLResponse, dependencies=[read])
    def job_page(request: Request, job: str) -> HTMLResponse:
        frame = repo.executions(job)
        done = frame.dropna(subset=["scale_out", "gross_runtime"])
        points = [
            (float(m), float(r))
            for m, r in zip(done["scale_out"], done["gross_runtime"], strict=True)
        ]
        fit = fits.get(repo, job, done) if len(done) else {}
        line = [(float(m), p) for m, p in fit.get("rows", [])]
        return templates.TemplateResponse(
            request,
            "job.html",
            {
                "job": job,
                "chart": runtime_chart(points, line, title=f"runtime of {job} by scale-out"),
                "prediction": fit if "rows" in fit else None,
                "prediction_error": fit.get("error"),
                "executions": list_executions(repo, job=job, limit=200),
            },
        )

    @router.get("/shares", response_class=HTMLResponse, dependencies=[read])
    def shares(request: Request) -> HTMLResponse:
        from jobcast.app.hub import list_shares

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

    @router.get("/login", response_class=HTMLResponse)
    def login(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {})

    return router
