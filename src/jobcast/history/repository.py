"""The job history repository: one object composed of the parts below, each its own concern.

* :mod:`~jobcast.history.base` -- engine, transactions, jobs;
* :mod:`~jobcast.history.writes` -- imports (one transaction each);
* :mod:`~jobcast.history.readers` -- executions, iterations and hardware as DataFrames;
* :mod:`~jobcast.history.live` -- live executions reported by collectors;
* :mod:`~jobcast.history.ledger` -- the privacy budget and ledger;
* :mod:`~jobcast.history.share_imports` -- shares imported into the history;
* :mod:`~jobcast.history.progress_store` -- trained progress parameters.
"""

from __future__ import annotations

from jobcast.history.ledger import DEFAULT_PRIVACY_BUDGET
from jobcast.history.live import LiveRuns
from jobcast.history.progress_store import ProgressParameterStore
from jobcast.history.readers import HistoryReader
from jobcast.history.share_imports import ShareImports
from jobcast.history.writes import ImportWriter

__all__ = ["HistoryRepository", "DEFAULT_PRIVACY_BUDGET"]


class HistoryRepository(
    ImportWriter, HistoryReader, LiveRuns, ShareImports, ProgressParameterStore
):
    """Job history stored in SQLite (default) or PostgreSQL.

    Parameters
    ----------
    url
        SQLAlchemy URL or SQLite file path; defaults to ``$JOBCAST_DB`` and then a file in
        the user's data directory. The schema is migrated to the newest revision on open.

    Examples
    --------
    >>> repo = HistoryRepository("sqlite:///:memory:")  # doctest: +SKIP
    >>> repo.list_jobs()  # doctest: +SKIP
    []
    """

    def __enter__(self) -> HistoryRepository:
        return self
