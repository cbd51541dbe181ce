"""Writing imported executions, iterations and hardware samples, each import one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jobcast.errors import ConflictError, InputError, JobConflictError
from jobcast.history.base import RepositoryBase
from jobcast.history.checks import check_execution_table, check_iteration_table, content_hash
from jobcast.history.completion import complete_running as complete_running_rows
from jobcast.history.completion import only, split_running
from jobcast.history.records import (
    ITERATION_VALUE_COLUMNS,
    ExecutionTable,
    ImportSummary,
    IterationTable,
    Provenance,
)
from jobcast.history.schema import (
    HARDWARE_RATES,
    ExecutionRow,
    HardwareSampleRow,
    ImportRow,
    IterationRow,
    JobRow,
)
from jobcast.history.values import clean, utc

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ImportWriter", "insert_hardware"]

_CHUNK = 20_000


class ImportWriter(RepositoryBase):
    """Imports: validated tables in, one transaction each."""

    # ------------------------------------------------------------ executions
    def import_executions(self, table: ExecutionTable) -> ImportSummary:
        """Store a validated execution table in one transaction (all or nothing).

        Raises
        ------
        ImportFormatError
            For values no database would store alike (see :mod:`jobcast.history.checks`).
        ConflictError
            When the job holds these executions already (the same file imported twice).
        """
        (summary,) = self.import_execution_tables([table])
        return summary

    def import_execution_tables(self, tables: Sequence[ExecutionTable]) -> list[ImportSummary]:
        """Store several validated execution tables in one transaction (all or nothing).

        The tables of one command (``jobcast import c3o A B``) go in together: a conflict
        found while writing the second leaves the first unwritten too.

        Raises
        ------
        ImportFormatError, ConflictError
            As :meth:`import_executions`, for any of the tables.
        """
        for table in tables:
            check_execution_table(table)
        digests = [content_hash(t) for t in tables]
        out = []
        with self.transaction() as s:
            for table, digest in zip(tables, digests, strict=True):
                job_row, created = self._job_of(s, table)
                self._refuse_duplicate(s, job_row, table, digest)
                n = self._insert_executions(s, job_row, table, digest)
                out.append(ImportSummary(job=job_row.name, executions=n, created_job=created))
        return out

    def _job_of(self, s: Session, table: ExecutionTable) -> tuple[JobRow, bool]:
        """The table's job, created if new; a conflict names the file (or origin)."""
        try:
            return self._ensure_job(s, table.job)
        except JobConflictError as e:
            raise JobConflictError(f"{table.provenance.origin}: {e}") from None

    @staticmethod
    def _refuse_duplicate(
        s: Session, job_row: JobRow, table: ExecutionTable, digest: str | None
    ) -> None:
        if digest is None:
            return
        before = s.execute(
            select(ImportRow.origin, ImportRow.created_at)
            .where(ImportRow.job_id == job_row.id, ImportRow.content_hash == digest)
            .limit(1)
        ).first()
        if before is not None:
            when = utc(before[1])
            raise ConflictError(
                f"{table.provenance.origin}: job {job_row.name!r} holds these "
                f"{len(table.frame)} executions already: they were imported before, from "
                f"{before[0]} on {when:%Y-%m-%d %H:%M} UTC. Nothing was written; to keep "
                "both copies, import into another --job"
            )

    def _insert_executions(
        self, s: Session, job_row: JobRow, table: ExecutionTable, digest: str | None = None
    ) -> int:
        prov = table.provenance
        imp = ImportRow(
            job_id=job_row.id,
            source=str(prov.kind),
            origin=prov.origin,
            epsilon=prov.epsilon,
            executions=len(table.frame),
            content_hash=digest,
        )
        s.add(imp)
        s.flush()
        names = table.job.attribute_names
        frame = table.frame
        for start in range(0, len(frame), _CHUNK):
            # in chunks: the row dicts of a multi-million-row import would not fit in memory
            self._insert_chunk(s, job_row, imp.id, names, frame.iloc[start : start + _CHUNK], prov)
        return len(frame)

    @staticmethod
    def _insert_chunk(
        s: Session,
        job_row: JobRow,
        import_id: int,
        names: tuple[str, ...],
        frame: pd.DataFrame,
        prov: Provenance,
    ) -> None:
        rows = []
        for rec in frame.to_dict(orient="records"):
            rows.append(
                {
                    "job_id": job_row.id,
                    "import_id": import_id,
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

    # ------------------------------------------------------------ iterations
    def import_iterations(
        self, table: IterationTable, *, complete_running: bool = False
    ) -> ImportSummary:
        """Store executions with their iterations (and hardware samples) in one transaction.

        ``complete_running`` as in :meth:`import_iteration_tables`.
        """
        (summary,) = self.import_iteration_tables([table], complete_running=complete_running)
        return summary

    def import_iteration_tables(
        self, tables: Sequence[IterationTable], *, complete_running: bool = False
    ) -> list[ImportSummary]:
        """Store several iteration tables in one transaction (all or nothing).

        Parameters
        ----------
        tables
            Validated tables, each its own import (one per event log, say).
        complete_running
            Executions the job holds already are left as they are (counted in
            ``unchanged``), except runs imported while Spark was still writing their log:
            when the table holds more of such a run (more iterations, or its end), the
            stored execution gets the table's iterations, end and runtime (counted in
            ``completed``). Without it, executions held already are refused.

        Raises
        ------
        ImportFormatError, ConflictError, InputError
            For any of the tables; nothing is written then.
        """
        for table in tables:
            check_iteration_table(table)
        out = []
        with self.transaction() as s:
            for table in tables:
                out.append(self._write_iterations(s, table, complete_running))
        return out

    def _write_iterations(
        self, s: Session, table: IterationTable, complete_running: bool
    ) -> ImportSummary:
        job_row, created = self._job_of(s, table.executions)
        completed, unchanged, n_it, n_hw = 0, 0, 0, 0
        rest: IterationTable | None = table
        if complete_running and not created:
            split = split_running(s, job_row, table)
            rest, unchanged = split.new, len(split.unchanged)
            if split.running:
                part = only(table, set(split.running))
                ids = complete_running_rows(s, part, split.running)
                n_it += self._insert_iterations(s, ids, part.iterations)
                if part.hardware is not None and len(part.hardware):
                    n_hw += insert_hardware(s, ids, part.hardware)
                completed = len(split.running)
        n_ex = 0
        if rest is not None and len(rest.executions.frame):
            digest = content_hash(rest.executions, rest.iterations)
            self._refuse_duplicate(s, job_row, rest.executions, digest)
            ids = self._insert_with_ids(s, job_row, rest.executions, digest)
            n_ex = len(ids)
            n_it += self._insert_iterations(s, ids, rest.iterations)
            if rest.hardware is not None and len(rest.hardware):
                n_hw += insert_hardware(s, ids, rest.hardware)
        return ImportSummary(
            job=job_row.name,
            executions=n_ex,
            iterations=n_it,
            hardware_samples=n_hw,
            created_job=created,
            completed=completed,
            unchanged=unchanged,
        )

    def _insert_with_ids(
        self, s: Session, job_row: JobRow, table: ExecutionTable, digest: str | None = None
    ) -> dict[str, int]:
        external = [str(x) for x in table.frame["external_id"]]
        clash = s.scalars(
            select(ExecutionRow.external_id).where(
                ExecutionRow.job_id == job_row.id, ExecutionRow.external_id.in_(external)
            )
        ).all()
        if clash:
            shown = sorted(str(c) for c in clash)
            more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
            raise InputError(
                f"{table.provenance.origin}: job {job_row.name!r} already has executions "
                f"{shown[:5]}{more} of this import; they were imported before. Nothing was "
                "written: leave them out of the file to add the others, or import into "
                "another --job"
            )
        self._insert_executions(s, job_row, table, digest)
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
                    **{c: clean(rec.get(c)) for c in ITERATION_VALUE_COLUMNS},
                    # the times as aware UTC datetimes (clean keeps them as given)
                    "started_at": utc(rec.get("started_at")),
                    "finished_at": utc(rec.get("finished_at")),
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
            **{attr: clean(rec.get(column)) for column, attr in HARDWARE_RATES.items()},
        }
        for rec in hw.to_dict(orient="records")
    ]
    if rows:
        s.execute(insert(HardwareSampleRow), rows)
    return len(rows)
