"""Writing imported executions, iterations and hardware samples, each import one transaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jobcast.errors import (
    InputError,
)
from jobcast.history.base import RepositoryBase
from jobcast.history.records import (
    ExecutionTable,
    ImportSummary,
    IterationTable,
)
from jobcast.history.schema import (
    ExecutionRow,
    HardwareSampleRow,
    ImportRow,
    IterationRow,
    JobRow,
)
from jobcast.history.values import clean, utc

logger = logging.getLogger(__name__)

__all__ = ["ImportWriter", "insert_hardware"]


class ImportWriter(RepositoryBase):
    """Imports: validated tables in, one transaction each."""

    # ------------------------------------------------------------ executions
    def import_executions(self, table: ExecutionTable) -> ImportSummary:
        """Store a validated execution table in one transaction (all or nothing)."""
        with self.transaction() as s:
            job_row, created = self._ensure_job(s, table.job)
            n = self._insert_executions(s, job_row, table)
            return ImportSummary(job=job_row.name, executions=n, created_job=created)

    def _insert_executions(self, s: Session, job_row: JobRow, table: ExecutionTable) -> int:
        prov = table.provenance
        imp = ImportRow(
            job_id=job_row.id,
            source=str(prov.kind),
            origin=prov.origin,
            epsilon=prov.epsilon,
            executions=len(table.frame),
        )
        s.add(imp)
        s.flush()
        names = table.job.attribute_names
        frame = table.frame
        rows = []
        for rec in frame.to_dict(orient="records"):
            rows.append(
                {
                    "job_id": job_row.id,
                    "import_id": imp.id,
                    "external_id": (
                        None if clean(rec.get("external_id")) is None else str(rec["external_id"])
                    ),
                    "scale_out": clean(rec.get("scale_out")),
                    "machine_type": clean(rec.get("machine_type")),
                    "gross_runtime": clean(rec.get("gross_runtime")),
                    "started_at": utc(rec.get("started_at")),
                    "finished_at": utc(rec.get("finished_at")),
                    "attributes": {k: clean(rec[k]) for k in names},
                    "source": str(prov.kind),
                    "origin": prov.origin,
                    "share_epsilon": prov.epsilon,
                }
            )
        if rows:
            s.execute(insert(ExecutionRow), rows)
        return len(rows)

    # ------------------------------------------------------------ iterations
    def import_iterations(self, table: IterationTable) -> ImportSummary:
        """Store executions with their iterations (and hardware samples) in one transaction."""
        with self.transaction() as s:
            job_row, created = self._ensure_job(s, table.executions.job)
            ids = self._insert_with_ids(s, job_row, table.executions)
            n_it = self._insert_iterations(s, ids, table.iterations)
            n_hw = 0
            if table.hardware is not None and len(table.hardware):
                n_hw = insert_hardware(s, ids, table.hardware)
            return ImportSummary(
                job=job_row.name,
                executions=len(ids),
                iterations=n_it,
                hardware_samples=n_hw,
                created_job=created,
            )

    def _insert_with_ids(
        self, s: Session, job_row: JobRow, table: ExecutionTable
    ) -> dict[str, int]:
        external = [str(x) for x in table.frame["external_id"]]
        clash = s.scalars(
            select(ExecutionRow.external_id).where(
                ExecutionRow.job_id == job_row.id, ExecutionRow.external_id.in_(external)
            )
        ).all()
        if clash:
            raise InputError(
                f"job {job_row.name!r} already has executions "
                f"{sorted(str(c) for c in clash)[:5]}; "
                "they were imported before. Nothing was written."
            )
        self._insert_executions(s, job_row, table)
        found = s.execute(
            select(ExecutionRow.external_id, ExecutionRow.id).where(
                ExecutionRow.job_id == job_row.id, ExecutionRow.external_id.in_(external)
            )
        ).all()
        return {str(ext): int(eid) for ext, eid in found}

    @staticmethod
    def _insert_iterations(s: Session, ids: Mapping[str, int], it: pd.DataFrame) -> int:
        rows = []
        for rec in it.to_dict(orient="records"):
            rows.append(
                {
                    "execution_id": ids[str(rec["execution"])],
                    "index": int(rec["iteration"]),
                    "started_at": utc(rec.get("started_at")),
                    "finished_at": utc(rec.get("finished_at")),
                    "duration_s": clean(rec.get("duration_s")),
                    "scale_out": clean(rec.get("scale_out")),
                    "records": clean(rec.get("records")),
                    "cpu": clean(rec.get("cpu")),
                    "disk": clean(rec.get("disk")),
                    "net": clean(rec.get("net")),
                }
            )
        if rows:
            s.execute(insert(IterationRow), rows)
        return len(rows)


def insert_hardware(s: Session, ids: Mapping[str, int], hw: pd.DataFrame) -> int:
    """Insert hardware samples (``execution`` holds external ids mapped by ``ids``)."""
    rows = [
        {
            "execution_id": ids[str(rec["execution"])],
            "node": str(rec["node"]),
            "timestamp": utc(rec["timestamp"]),
            "cpu_percent": clean(rec.get("cpu")),
            "disk_read_bps": clean(rec.get("disk_read")),
            "disk_write_bps": clean(rec.get("disk_write")),
            "net_rx_bps": clean(rec.get("net_rx")),
            "net_tx_bps": clean(rec.get("net_tx")),
        }
        for rec in hw.to_dict(orient="records")
    ]
    if rows:
        s.execute(insert(HardwareSampleRow), rows)
    return len(rows)
