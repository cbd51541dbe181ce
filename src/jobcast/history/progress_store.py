"""Storing the trained progress-estimation parameters of a job."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete

from jobcast.history.base import RepositoryBase
from jobcast.history.schema import (
    ProgressParametersRow,
)

logger = logging.getLogger(__name__)

__all__ = ["ProgressParameterStore"]


class ProgressParameterStore(RepositoryBase):
    """Trained progress parameters, one set per job."""

    # ---------------------------------------------------- progress parameters
    def save_progress_parameters(self, name: str, parameters: Mapping[str, Any]) -> None:
        """Store (replace) the trained progress-estimation parameters of job ``name``."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            s.execute(delete(ProgressParametersRow).where(ProgressParametersRow.job_id == row.id))
            s.add(ProgressParametersRow(job_id=row.id, parameters=dict(parameters)))

    def progress_parameters(self, name: str) -> dict[str, Any] | None:
        """The stored progress-estimation parameters of job ``name``, or None."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            p = s.get(ProgressParametersRow, row.id)
            return dict(p.parameters) if p is not None else None
