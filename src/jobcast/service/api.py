"""The JSON API: jobs, executions, iterations, ETAs, predictions and configurations."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from jobcast.app.jobs import summarize
from jobcast.app.service_reads import execution_iterations, execution_record, list_executions
from jobcast.history import HistoryRepository
from jobcast.service.auth import Authenticator
from jobcast.service.cache import ResultCache
from jobcast.service.schemas import ConfigureRequest, PredictRequest
from jobcast.service.settings import ServiceSettings
from jobcast.service.watch import Watcher

__all__ = ["jsonable", "eta_record", "api_router"]


def jsonable(obj: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN and infinities as null, times ISO."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
        return jsonable(obj.to_dict(orient="records"))
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def eta_record(eta: Any) -> dict[str, Any]:
    """An :class:`jobcast.app.progress.Eta` as the API's JSON object."""
    out: dict[str, Any] = jsonable(eta)
    return out


def _deadline(settings: ServiceSettings, job: str, given: float | None) -> float | None:
    if given is not None:
        return given
    return dict(settings.deadlines).get(job)


def api_router(
    repo: HistoryRepository, auth: Authenticator, settings: ServiceSettings, watcher: Watcher
) -> APIRouter:
    """The ``/api/v1`` read and use-case routes (the collector and hub are mounted apart).

    ETA reads without their own ``deadline_s`` answer from the watcher's last pass
    (elapsed and remaining moved on by the clock), so a dashboard polling many executions
    does not re-run the estimator; other reads use the watcher's fitted model of the job.
    """
    read = Depends(auth.require("read"))
    # POSTs always need a token, even where reads are open to anonymous users.
    post = Depends(auth.require("read", anonymous=False))
    router = APIRouter(prefix="/api/v1")
    results = ResultCache(repo)

    @router.get("/jobs", dependencies=[read], tags=["history"])
    def jobs() -> dict[str, Any]:
        """Every job with its number of executions and iterations."""
        return {"jobs": jsonable(summarize(repo.list_jobs()))}

    @router.get("/jobs/{job}", dependencies=[read], tags=["history"])
    def job(job: str) -> dict[str, Any]:
        """One job's attributes and columns."""
        spec = repo.job(job)
        return {
            "name": spec.name,
            "attributes": [
                {"name": a.name, "kind": str(a.kind), "numeric": a.numeric} for a in spec.attributes
            ],
            "deadline_s": _deadline(settings, job, None),
        }

    @router.get("/jobs/{job}/executions", dependencies=[read], tags=["history"])
    def job_executions(
        job: str,
        state: Literal["running", "finished", "all"] = "all",
        limit: int | None = Query(default=None, gt=0),
    ) -> dict[str, Any]:
        """A job's executions, newest first."""
        return {"executions": list_executions(repo, job=job, state=state, limit=limit)}

    @router.get("/executions", dependencies=[read], tags=["history"])
    def executions(
        state: Literal["running", "finished", "all"] = "all",
        job: str | None = None,
        limit: int | None = Query(default=None, gt=0),
    ) -> dict[str, Any]:
        """Executions of every job (or of ``job``), newest first; ``state=running`` for live."""
        return {"executions": list_executions(repo, job=job, state=state, limit=limit)}

    @router.get("/executions/{execution}", dependencies=[read], tags=["history"])
    def execution(execution: str) -> dict[str, Any]:
        """One execution."""
        return execution_record(repo, execution)

    @router.get("/executions/{execution}/iterations", dependencies=[read], tags=["history"])
    def iterations(execution: str) -> dict[str, Any]:
        """The iterations of one execution."""
        return {"execution": execution, "iterations": execution_iterations(repo, execution)}

    @router.get("/executions/{execution}/eta", dependencies=[read], tags=["progress"])
    async def eta(execution: str, deadline_s: float | None = Query(default=None, gt=0)) -> Any:
        """Elapsed and remaining time, finish time, 80 % interval, deadline risk, similar runs."""
        if deadline_s is None:
            # answered on the event loop: no thread hand-off for the common dashboard read
            hit = watcher.cached(execution, max_age_s=max(2 * settings.watch_interval_s, 600))
            if hit is not None:
                return hit
        return await run_in_threadpool(watcher.estimate, execution, deadline_s=deadline_s)

    @router.post("/jobs/{job}/predict", dependencies=[post], tags=["models"])
    def predict(job: str, body: PredictRequest) -> dict[str, Any]:
        """Runtime predictions, one per scale-out (with ``set``) or per row (``rows``).

        Answers are kept while the job's executions are unchanged: the same question on
        the same history is answered without training the model again.
        """
        return results.get(("predict", job, body), lambda: _predict(job, body))

    def _predict(job: str, body: PredictRequest) -> dict[str, Any]:
        from jobcast.app.predict import predict as run

        result = run(
            repo,
            job,
            rows=body.rows,
            settings=body.set,
            scale_outs=body.scale_out,
            machine_type=body.machine_type,
            model=body.model,
            include_shared=body.include_shared,
        )
        return {
            "job": job,
            "model": result.model,
            "chosen": result.chosen,
            "predictions": jsonable(list(result.predictions)),
            "queries": jsonable(result.queries),
            "warnings": list(result.warnings),
        }

    @router.post("/jobs/{job}/configure", dependencies=[post], tags=["models"])
    def configure(job: str, body: ConfigureRequest) -> dict[str, Any]:
        """The cheapest scale-out and machine type meeting the deadline, or why none does."""
        return results.get(("configure", job, body), lambda: _configure(job, body))

    def _configure(job: str, body: ConfigureRequest) -> dict[str, Any]:
        from jobcast.app.configure import configure as run

        result = run(
            repo,
            job,
            deadline_s=body.deadline_s,
            confidence=body.confidence,
            settings=body.set,
            prices=body.prices,
            scale_outs=body.scale_outs,
            machine_types=body.machine_types,
            model=body.model,
            include_shared=body.include_shared,
        )
        return {
            "job": job,
            "feasible": bool(result.feasible),
            "best": jsonable(result.best),
            "candidates": jsonable(result.candidates),
            "message": result.message,
        }

    return router
