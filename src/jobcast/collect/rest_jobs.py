"""What the REST follower keeps of a finished Spark job: stage totals, and an iteration's row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["STAGE_TOTALS", "RestJob", "add_stage_totals", "iteration_row"]

#: The totals kept of a finished job's stages: each the sum of these stage fields of the
#: REST API (``cpu_ns`` and ``run_ms`` give the CPU share, the rest are reported as summed).
STAGE_TOTALS: dict[str, tuple[str, ...]] = {
    "records": ("inputRecords", "shuffleReadRecords"),
    "cpu_ns": ("executorCpuTime",),
    "run_ms": ("executorRunTime",),
    "disk": (
        "inputBytes",
        "outputBytes",
        "shuffleWriteBytes",
        "shuffleLocalBytesRead",
        "diskBytesSpilled",
    ),
    "net": ("shuffleRemoteBytesRead", "shuffleMergedRemoteBytesRead"),
    "tasks": ("numCompleteTasks", "numFailedTasks"),
}


@dataclass
class RestJob:
    """What the follower remembers of a finished Spark job (the UI may forget it)."""

    job_id: int
    key: str | None
    submitted: datetime
    completed: datetime
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGE_TOTALS, 0))


def add_stage_totals(
    done: Iterable[tuple[RestJob, list[int]]],
    stages: Iterable[dict[str, Any]],
    counted: set[tuple[int, int]],
) -> None:
    """Add the REST API's finished ``stages`` to the totals of the jobs in ``done``.

    ``counted`` holds the (stage, attempt) pairs already added, and is updated: a stage
    that a later job skips (its output reused) is counted once, for the job that ran it.
    """
    by_id: dict[int, list[dict[str, Any]]] = {}
    for st in stages:
        by_id.setdefault(int(st["stageId"]), []).append(st)
    for job, stage_ids in sorted(done, key=lambda d: d[0].job_id):
        for sid in stage_ids:
            for st in by_id.get(sid, []):
                ident = (sid, int(st.get("attemptId", 0)))
                if st.get("status") not in ("COMPLETE", "FAILED") or ident in counted:
                    continue
                counted.add(ident)
                for total, names in STAGE_TOTALS.items():
                    job.totals[total] += sum(int(st.get(n, 0)) for n in names)


def iteration_row(
    key: str, jobs: Sequence[RestJob], *, execution: str, scale_out: float
) -> dict[str, Any]:
    """One iteration's row from its finished jobs (a row of ``collect.runs.iterations_frame``)."""
    start = min(j.submitted for j in jobs)
    end = max(j.completed for j in jobs)
    total = {name: sum(j.totals[name] for j in jobs) for name in STAGE_TOTALS}
    run_ms = total["run_ms"]
    return {
        "execution": execution,
        "started_at": start,
        "finished_at": end,
        "duration_s": (end - start).total_seconds(),
        "scale_out": scale_out,
        "records": total["records"],
        "cpu": total["cpu_ns"] / (run_ms * 1e6) if run_ms else float("nan"),
        "disk": total["disk"],
        "net": total["net"],
        "label": key,
        "jobs": len(jobs),
        "tasks": total["tasks"],
    }
