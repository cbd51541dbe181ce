"""The JSON API: jobs, executions, iterations, ETAs, predictions and configurations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from jobcast.app.jobs import summarize
from jobcast.app.service_reads import (
    execution_iterations,
    execution_page,
    execution_record,
    job_version,
)
from jobcast.history import HistoryRepository
from jobcast.service.answers import eta_record, jsonable
from jobcast.service.auth import Authenticator
from jobcast.service.models import ModelStore
from jobcast.service.schemas import ConfigureRequest, PredictRequest
from jobcast.service.settings import ServiceSettings
from jobcast.service.watch import Watcher

__all__ = ["jsonable", "eta_record", "api_router"]

#: Executions per page of the listings unless ``limit`` says otherwise, and at most.
PAGE_ROWS = 1000
MAX_PAGE_ROWS = 10_000

#: ``?job=NAME``: the job whose execution an id names (ids are unique within a job only).
JobQuery = Annotated[
    str | None,
    Query(
        description="The job of the execution; needed when executions of several jobs "
        "have this id (409 without it)."
    ),
]


def api_router(
    repo: HistoryRepository,
    auth: Authenticator,
    settings: ServiceSettings,
    watcher: Watcher,
    models: ModelStore,
) -> APIRouter:
    """The ``/api/v1`` read and use-case routes (the collector and hub are mounted apart).

    ETA reads without their own ``deadline_s`` answer from the watcher's last pass
    (elapsed and remaining moved on by the clock), so a dashboard polling many executions
    does not re-run the estimator; other reads estimate the one execution against the
    job's prepared model. Predictions and configurations are computed in the model
    workers, once per request and job version.
    """
    read = Depends(auth.require("read"))
    # POSTs always need a token, even where reads are open to anonymous users.
    post = Depends(auth.require("read", anonymous=False))
    router = APIRouter(prefix="/api/v1")

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
            "deadline_s": dict(settings.deadlines).get(job),
        }

    @router.get("/jobs/{job}/executions", dependencies=[read], tags=["history"])
    def job_executions(
        job: str,
        state: Literal["running", "finished", "all"] = "all",
        limit: int = Query(default=PAGE_ROWS, gt=0, le=MAX_PAGE_ROWS),
        offset: int = Query(default=0, ge=0),
    ) -> dict[str, Any]:
        """A job's executions, newest first, a page at a time (``next_offset``: the next)."""
        return execution_page(repo, job=job, state=state, limit=limit, offset=offset)

    @router.get("/executions", dependencies=[read], tags=["history"])
    def executions(
        state: Literal["running", "finished", "all"] = "all",
        job: str | None = None,
        limit: int = Query(default=PAGE_ROWS, gt=0, le=MAX_PAGE_ROWS),
        offset: int = Query(default=0, ge=0),
    ) -> dict[str, Any]:
        """Executions of every job (or of ``job``), newest first, a page at a time.

        ``state=running`` for live ones; ``next_offset`` is the next page's ``offset``
        (null on the last page).
        """
        return execution_page(repo, job=job, state=state, limit=limit, offset=offset)

    @router.get("/executions/{execution}", dependencies=[read], tags=["history"])
    def execution(execution: str, job: JobQuery = None) -> dict[str, Any]:
        """One execution (404 without it; 409 when several jobs hold the id and no ``job``)."""
        return execution_record(repo, execution, job=job)

    @router.get("/executions/{execution}/iterations", dependencies=[read], tags=["history"])
    def iterations(execution: str, job: JobQuery = None) -> dict[str, Any]:
        """The iterations of one execution (404 and 409 as for the execution)."""
        return {
            "execution": execution,
            "iterations": execution_iterations(repo, execution, job=job),
        }

    @router.get("/executions/{execution}/eta", dependencies=[read], tags=["progress"])
    async def eta(
        execution: str,
        deadline_s: float | None = Query(default=None, gt=0),
        job: JobQuery = None,
    ) -> Any:
        """Elapsed and remaining time, finish time, 80 % interval, deadline risk, similar runs.

        Of a running execution only: 409 for a finished one (the message gives its
        runtime), 404 for an unknown id, 409 for an id several jobs hold without ``job``.
        """
        if deadline_s is None:
            # answered on the event loop: no thread hand-off for the common dashboard read
            hit = watcher.cached(
                execution, job=job, max_age_s=max(2 * settings.watch_interval_s, 600)
            )
            if hit is not None:
                return hit
        return await watcher.estimate_async(execution, job=job, deadline_s=deadline_s)

    async def answer(kind: str, job: str, body: BaseModel) -> Any:
        version = await run_in_threadpool(job_version, repo, job)
        return await models.answer(kind, job, body.model_dump(mode="json"), version)

    @router.post("/jobs/{job}/predict", dependencies=[post], tags=["models"])
    async def predict(job: str, body: PredictRequest) -> Any:
        """Runtime predictions, one per scale-out (with ``set``) or per row (``rows``).

        Answers are kept while the job's finished executions are unchanged: the same
        question on the same history is answered without training the model again.
        """
        return await answer("predict", job, body)

    @router.post("/jobs/{job}/configure", dependencies=[post], tags=["models"])
    async def configure(job: str, body: ConfigureRequest) -> Any:
        """The cheapest scale-out and machine type meeting the deadline, or why none does."""
        return await answer("configure", job, body)

    return router
