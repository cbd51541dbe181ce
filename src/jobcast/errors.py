"""Exceptions raised by jobcast; every message says what was wrong and how to fix it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "JobcastError",
    "InputError",
    "ImportFormatError",
    "UnknownJobError",
    "UnknownExecutionError",
    "JobConflictError",
    "ConflictError",
    "DatabaseError",
    "NetworkError",
    "SparkRestError",
    "ModelError",
    "NotEnoughDataError",
    "PrivacyError",
    "BudgetExceededError",
    "DomainError",
    "ReleaseRefusedError",
    "ReleaseAbortedError",
    "MissingExtraError",
    "missing_path_reason",
]


class JobcastError(Exception):
    """Base class of every error jobcast raises on purpose."""


class InputError(JobcastError, ValueError):
    """A value given by the user (argument, option, file content) is not acceptable."""


class ImportFormatError(InputError):
    """A trace file cannot be imported; names the file, line and column.

    Parameters
    ----------
    path
        The file that was read.
    message
        What is wrong and how to fix it.
    line
        1-based line number in the file (the header is line 1), if known.
    column
        Column name, if the problem is in one column.
    """

    def __init__(
        self, path: str, message: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class UnknownJobError(InputError, LookupError):
    """The named job is not in the history."""


class UnknownExecutionError(InputError, LookupError):
    """No execution (of the job asked for) has this id: the service answers 404."""


class JobConflictError(InputError):
    """A job of that name exists with different context attributes."""


class ConflictError(InputError):
    """A report or import contradicts what the history already holds (it is never rewritten)."""


class DatabaseError(JobcastError):
    """The history database cannot be opened, migrated or written."""


class NetworkError(JobcastError):
    """A remote service (a sharing hub, a collector) cannot be reached or answers nonsense."""


class SparkRestError(NetworkError):
    """A Spark UI's or History Server's REST API cannot be reached or answers nonsense.

    Importable from :mod:`jobcast.collect` and :mod:`jobcast.collect.rest` too.
    """


class ModelError(JobcastError):
    """A runtime or progress model cannot be trained or used."""


class NotEnoughDataError(ModelError):
    """The history holds too few executions for the requested model or estimate."""


class PrivacyError(JobcastError):
    """A differential-privacy requirement is not met."""


class BudgetExceededError(PrivacyError):
    """A release would take a job over its privacy budget."""


class DomainError(PrivacyError, InputError):
    """A column domain is missing, malformed, or a value lies outside it."""


class ReleaseRefusedError(DomainError):
    """A mechanism refused to release, deciding on its own noisy outputs.

    The refusal depends on the private rows (through what the mechanism has already
    measured), so ``spent`` -- the ε used up to the decision -- is charged to the job's
    ledger: retrying until a release passes must not be free.
    """

    def __init__(self, message: str, *, spent: float) -> None:
        super().__init__(message)
        self.spent = float(spent)


class ReleaseAbortedError(PrivacyError):
    """A release stopped after its mechanism ran: nothing was written, its ε is charged.

    ``interrupted`` is the signal's name (``"SIGINT"``, ``"SIGTERM"``) for an
    interrupt, else None; ``spent`` is the ε charged (0 without DP).
    """

    def __init__(self, message: str, *, spent: float, interrupted: str | None) -> None:
        super().__init__(message)
        self.spent = float(spent)
        self.interrupted = interrupted


class MissingExtraError(JobcastError, ImportError):
    """An optional dependency is not installed; says which extra installs it."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the optional package {package!r}. "
            f"Install it with: pip install 'jobcast[{extra}]' (or `make install` in a checkout)."
        )


def missing_path_reason(path: str | os.PathLike[str], missing: str) -> str:
    """Why ``path`` cannot be opened when it is not there: ``missing`` unless it is a link.

    A symbolic link whose target is gone, or that loops, "exists" for neither
    ``os.path.exists`` nor the reader, so the message says what the link is instead of
    "no such file" (which sends the user looking for a file they can see in ``ls``).
    """
    p = Path(path)
    if not p.is_symlink():
        return missing
    try:
        p.resolve(strict=True)
    except RuntimeError:
        return "is a symbolic link that loops (it leads back to itself); fix or remove the link"
    except OSError:
        return f"is a symbolic link to {os.readlink(p)}, which does not exist; fix the link"
    return missing
