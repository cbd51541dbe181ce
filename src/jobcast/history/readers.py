"""Reading the history as DataFrames: executions, iterations, hardware samples."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jobcast.history.base import RepositoryBase
from jobcast.history.records import (
    EXECUTION_COLUMNS,
    HARDWARE_COLUMNS,
    ITERATION_COLUMNS,
    ITERATION_VALUE_COLUMNS,
    SourceKind,
)
from jobcast.history.schema import HARDWARE_RATES, ExecutionRow, HardwareSampleRow, IterationRow

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HistoryReader", "iteration_values"]


def iteration_values(i: IterationRow) -> dict[str, Any]:
    """An iteration row's values under :data:`ITERATION_COLUMNS` (all but ``execution``)."""
    return {"iteration": i.index, **{c: getattr(i, c) for c in ITERATION_VALUE_COLUMNS}}


class HistoryReader(RepositoryBase):
    """Readers of the history as DataFrames with canonical columns."""

    def executions(
        self, name: str, *, include_shared: bool = True, only_completed: bool = True
    ) -> pd.DataFrame:
        """Return the executions of job ``name`` as a DataFrame.

        Columns: :data:`~jobcast.history.records.EXECUTION_COLUMNS` followed by the job's
        context attributes in order.

        Parameters
        ----------
        name
            The job.
        include_shared
            Also return executions imported from collaborators' shares.
        only_completed
            Leave out executions without a gross runtime (still running).
        """
        import pandas as pd

        with self.transaction() as s:
            job_row = self._job_row(s, name)
            spec = self._spec(job_row)
            query = select(ExecutionRow).where(ExecutionRow.job_id == job_row.id)
            if not include_shared:
                query = query.where(ExecutionRow.source != str(SourceKind.SHARE))
            if only_completed:
                query = query.where(ExecutionRow.gross_runtime.is_not(None))
            records = []
            for e in s.scalars(query.order_by(ExecutionRow.id)):
                rec: dict[str, Any] = {
                    "execution_id": e.id,
                    "external_id": e.external_id,
                    "scale_out": e.scale_out,
                    "machine_type": e.machine_type,
                    "gross_runtime": e.gross_runtime,
                    "started_at": e.started_at,
                    "finished_at": e.finished_at,
                    "source": e.source,
                }
                rec.update({k: e.attributes.get(k) for k in spec.attribute_names})
                records.append(rec)
        frame = pd.DataFrame.from_records(
            records, columns=list(EXECUTION_COLUMNS) + list(spec.attribute_names)
        )
        if frame["scale_out"].notna().all():
            frame["scale_out"] = frame["scale_out"].astype("int64")
        for a in spec.attributes:
            if a.numeric:
                frame[a.name] = pd.to_numeric(frame[a.name])
        return frame

    def iterations(self, name: str, *, include_running: bool = False) -> pd.DataFrame:
        """Iteration history of job ``name``: canonical iteration columns plus context.

        The ``execution`` column holds each execution's external id (or its numeric id
        when it has none). Context attributes of the execution are joined as columns.
        """
        import pandas as pd

        with self.transaction() as s:
            job_row = self._job_row(s, name)
            spec = self._spec(job_row)
            query = (
                select(ExecutionRow, IterationRow)
                .join(IterationRow, IterationRow.execution_id == ExecutionRow.id)
                .where(ExecutionRow.job_id == job_row.id)
                .order_by(ExecutionRow.id, IterationRow.index)
            )
            if not include_running:
                query = query.where(ExecutionRow.gross_runtime.is_not(None))
            records = []
            for e, i in s.execute(query):
                rec = {"execution": e.external_id or str(e.id), **iteration_values(i)}
                rec.update({k: e.attributes.get(k) for k in spec.attribute_names})
                records.append(rec)
        cols = [*ITERATION_COLUMNS, *spec.attribute_names]
        frame = pd.DataFrame.from_records(records, columns=cols)
        numeric = ["duration_s", "records", "cpu", "disk", "net"]
        numeric += [a.name for a in spec.attributes if a.numeric]
        for c in numeric:
            frame[c] = pd.to_numeric(frame[c]).astype("float64")
        if len(frame) and frame["scale_out"].notna().all():
            frame["scale_out"] = frame["scale_out"].astype("int64")
        return frame

    def hardware(self, name: str) -> pd.DataFrame:
        """Hardware samples of job ``name``'s executions (``execution, node, timestamp, ...``)."""
        import pandas as pd

        with self.transaction() as s:
            job_row = self._job_row(s, name)
            query = (
                select(ExecutionRow.external_id, ExecutionRow.id, HardwareSampleRow)
                .join(HardwareSampleRow, HardwareSampleRow.execution_id == ExecutionRow.id)
                .where(ExecutionRow.job_id == job_row.id)
                .order_by(HardwareSampleRow.id)
            )
            records = [
                {
                    "execution": ext or str(eid),
                    "node": h.node,
                    "timestamp": h.timestamp,
                    **{column: getattr(h, attr) for column, attr in HARDWARE_RATES.items()},
                }
                for ext, eid, h in s.execute(query).all()
            ]
        return pd.DataFrame.from_records(records, columns=list(HARDWARE_COLUMNS))
