"""Job history: data model, repository, migrations and trace importers."""

from jobcast.history.records import (
    Attribute,
    AttributeKind,
    ExecutionTable,
    ImportSummary,
    IterationTable,
    JobSpec,
    JobSummary,
    Provenance,
    Release,
    SourceKind,
)
from jobcast.history.repository import DEFAULT_PRIVACY_BUDGET, HistoryRepository

__all__ = [
    "DEFAULT_PRIVACY_BUDGET",
    "Attribute",
    "AttributeKind",
    "ExecutionTable",
    "HistoryRepository",
    "ImportSummary",
    "IterationTable",
    "JobSpec",
    "JobSummary",
    "Provenance",
    "Release",
    "SourceKind",
]
