"""The statistics collector: stores what running jobs report, each call committed at once."""

from __future__ import annotations

import pandas as pd

from jobcast.collect.protocol import (
    ExecutionReport,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import UnknownJobError
from jobcast.history import Attribute, HistoryRepository, JobSpec
from jobcast.history.importers.kinds import guess_kind

__all__ = ["Collector"]


class Collector:
    """Turns collector payloads into repository writes.

    Parameters
    ----------
    repo
        The history every submission is written to.
    """

    def __init__(self, repo: HistoryRepository) -> None:
        self.repo = repo

    def _spec(self, report: ExecutionReport) -> JobSpec:
        try:
            return self.repo.job(report.job)
        except UnknownJobError:
            names = list(report.params)
            if report.input_size is not None and "input_size" not in names:
                names.insert(0, "input_size")
            attrs = tuple(
                Attribute(
                    n,
                    guess_kind(n),
                    isinstance(report.params.get(n, report.input_size), int | float),
                )
                for n in names
            )
            return JobSpec(
                report.job,
                attrs,
                runtime_column=None,
                scale_out_column=None,
                machine_type_column=None,
            )

    def execution(self, report: ExecutionReport) -> dict[str, object]:
        """An execution starts (or, with ``finished_at``, ends)."""
        spec = self._spec(report)
        values = dict(report.params)
        if report.input_size is not None and "input_size" in spec.attribute_names:
            values["input_size"] = report.input_size
        self.repo.start_execution(
            spec,
            report.execution,
            scale_out=report.scale_out,
            attributes=values,
            started_at=report.started_at,
            origin="collector",
        )
        if report.finished_at is not None:
            self.repo.finish_execution(report.job, report.execution, finished_at=report.finished_at)
        return {"execution": report.execution, "job": report.job}

    def iteration_started(self, report: IterationStart) -> dict[str, object]:
        """An iteration starts."""
        job = self.repo.job_of_execution(report.execution)
        self.repo.record_iteration(
            job,
            report.execution,
            report.iteration,
            values={"started_at": report.started_at, "scale_out": report.scale_out},
        )
        return {"execution": report.execution, "iteration": report.iteration}

    def iteration_finished(self, report: IterationFinish) -> dict[str, object]:
        """An iteration ends."""
        job = self.repo.job_of_execution(report.execution)
        self.repo.record_iteration(
            job,
            report.execution,
            report.iteration,
            values={
                "finished_at": report.finished_at,
                "duration_s": report.duration_s,
                "records": report.records,
                "scale_out": report.scale_out,
                "cpu": report.cpu,
                "disk": report.disk,
                "net": report.net,
            },
        )
        return {"execution": report.execution, "iteration": report.iteration}

    def hardware(self, report: HardwareReport) -> dict[str, object]:
        """Hardware samples of one node; matched to running executions by time if needed."""
        frame = pd.DataFrame(
            [
                {
                    "node": report.node,
                    "timestamp": s.timestamp,
                    "cpu": s.cpu,
                    "disk_read": s.disk_read,
                    "disk_write": s.disk_write,
                    "net_rx": s.net_rx,
                    "net_tx": s.net_tx,
                }
                for s in report.samples
            ],
            columns=["node", "timestamp", "cpu", "disk_read", "disk_write", "net_rx", "net_tx"],
        )
        stored = 0
        if report.execution is not None:
            job = self.repo.job_of_execution(report.execution)
            stored = self.repo.add_hardware_samples(job, report.execution, frame)
        else:
            for _, row in frame.iterrows():
                for job, ex in self.repo.running_executions(row["timestamp"]):
                    stored += self.repo.add_hardware_samples(job, ex, frame.loc[[_]])
        return {"stored": stored, "received": len(frame)}
