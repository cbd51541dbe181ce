"""A release's arguments and declaration, checked before any private row is read.

The release transaction -- the ledger's lock and charge, the temporary directory, the
signals, the files -- is :func:`jobcast.app.release.release_share`. What it checks needs
no repository and lives here: ε, the row count, ``out``, the method
(:func:`check_release_arguments`), the declared domain and machine facts
(:func:`check_declaration`), the seed (:func:`check_seed`), the domain the mechanism runs
on (:func:`release_domain`, from the job's schema, never its values) and the check of a
written package as an importer will read it (:func:`self_check`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Required, TypedDict

import numpy as np
import pandas as pd

from jobcast.errors import (
    DomainError,
    ImportFormatError,
    InputError,
    PrivacyError,
    ReleaseRefusedError,
)
from jobcast.history import JobSpec
from jobcast.history.values import check_epsilon
from jobcast.privacy.consistency import MachineFacts, split_declaration
from jobcast.privacy.domain import Domain, read_domain_json
from jobcast.privacy.interrupts import interrupted_by
from jobcast.privacy.registry import DEFAULT_METHOD, METHODS, make_synthesizer
from jobcast.privacy.release_checks import (
    check_declared_columns,
    grid_size_warnings,
    warn_unbound_resources,
)
from jobcast.privacy.share import MANIFEST_FILE, read_share
from jobcast.privacy.share_schema import schema_domain
from jobcast.privacy.verify import MIN_EPSILON

__all__ = [
    "MAX_ROWS",
    "ReleaseOptions",
    "ShareRelease",
    "check_declaration",
    "check_release_arguments",
    "check_seed",
    "release_domain",
    "self_check",
]

#: Most synthetic rows one release may write (about 1 GB of CSV for a wide job).
MAX_ROWS = 10_000_000


@dataclass(frozen=True)
class ShareRelease:
    """A completed release.

    Parameters
    ----------
    manifest
        The manifest as written (with its digests).
    path
        The share's directory.
    epsilon
        ε spent (``None`` for a ``no_dp`` release).
    rows
        Synthetic rows written.
    budget, spent
        The job's budget and its spend including this release.
    warnings
        What the checks of the declaration and of the released rows found (also logged):
        a grid that publishes dataset sizes, a runtime column without information.
    """

    manifest: Mapping[str, Any] = field(repr=False)
    path: Path
    epsilon: float | None
    rows: int
    budget: float = math.nan
    spent: float = math.nan
    warnings: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        """The share's SHA-256 digest (its manifest's ``manifest_sha256``)."""
        return str(self.manifest["manifest_sha256"])

    @property
    def method(self) -> str:
        """The synthesizer that produced the rows."""
        return str(self.manifest["method"])


def _check_epsilon(epsilon: Any, no_dp: Any) -> float | None:
    if no_dp is not True and no_dp is not False:
        raise InputError(f"no_dp must be True or False, got {no_dp!r}")
    if no_dp:
        if epsilon is not None:
            raise InputError("give either --epsilon (a private release) or --no-dp, not both")
        return None
    if epsilon is None:
        raise InputError("give --epsilon E (> 0), or --no-dp to release without privacy")
    return check_epsilon(
        epsilon, minimum=MIN_EPSILON, error=PrivacyError, hint="ε = 0.1 to 10 is the useful range"
    )


def _check_rows(rows: Any) -> int:
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer):
        raise InputError(f"--rows must be a whole number of rows, got {rows!r}")
    if not 1 <= rows <= MAX_ROWS:
        raise InputError(f"--rows must be between 1 and {MAX_ROWS:,}, got {int(rows):,}")
    return int(rows)


def _check_out(out: Any) -> Path:
    if not isinstance(out, str | os.PathLike) or not str(out).strip():
        raise InputError(f"--out must be a directory path, got {out!r}")
    path = Path(out).expanduser().absolute()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise InputError(f"--out {out}: a file of that name exists; choose a new directory")
        if (path / MANIFEST_FILE).exists():
            raise InputError(f"--out {out} already holds a share; choose another directory")
        if any(path.iterdir()):
            raise InputError(f"--out {out} is a directory that is not empty; choose a new one")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"--out {out}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: the folder {parent} is not writable")
    return path


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or not method:
        raise InputError(f"--method must be one of {sorted(METHODS)}, got {method!r}")
    make_synthesizer(method)  # refuses an unknown name; builds nothing that reads data
    return method


def _check_domain(domain: Any) -> tuple[Domain | None, MachineFacts | None]:
    """The declared domain and machine facts (a domain file's ``machines`` entry)."""
    if domain is None or isinstance(domain, Domain):
        return domain, None
    if isinstance(domain, str | os.PathLike):
        path = Path(domain)
        try:
            rest, facts = split_declaration(read_domain_json(path))
            return Domain.from_dict(rest), facts
        except DomainError as e:
            raise e if str(e).startswith(str(path)) else DomainError(f"{path}: {e}") from e
    if isinstance(domain, Mapping):
        rest, facts = split_declaration(domain)
        return Domain.from_dict(rest), facts
    raise InputError(f"domain must be a Domain, a domain dict or a domain file, got {domain!r}")


def _check_machines(machines: Any, declared: MachineFacts | None) -> MachineFacts | None:
    if machines is None:
        return declared
    if declared is not None:
        raise InputError("machine facts are given twice: in the domain file and as machines=")
    if isinstance(machines, MachineFacts):
        return machines
    return MachineFacts.from_dict(machines)


def check_release_arguments(
    *, epsilon: Any, rows: Any, out: Any, method: Any = DEFAULT_METHOD, no_dp: Any = False
) -> tuple[float | None, int, Path]:
    """Validate a release's arguments (nothing is read or written); returns ε, rows, path.

    Raises
    ------
    PrivacyError
        For a missing, non-finite, non-positive or absurdly small ε.
    InputError
        For a bad row count (1 .. :data:`MAX_ROWS`), ``out`` (an existing file, a
        non-empty directory, a missing or unwritable folder) or method.
    """
    eps = _check_epsilon(epsilon, no_dp)
    n = _check_rows(rows)
    path = _check_out(out)
    _check_method(method)
    return eps, n, path


def check_declaration(
    domain: Any, machines: Any = None
) -> tuple[Domain | None, MachineFacts | None]:
    """Read and check a release's declared domain and machine facts (no private data).

    Parameters
    ----------
    domain
        A :class:`~jobcast.privacy.domain.Domain`, its JSON-ready dict or a domain file
        (a dict or file may hold the machine facts too, as its ``machines`` entry), or
        ``None`` for none declared.
    machines
        Machine facts (:class:`~jobcast.privacy.consistency.MachineFacts` or its JSON
        form) when the domain does not hold them, or ``None``.

    Returns
    -------
    tuple
        The declared domain (``None`` when none is) and the machine facts (``None`` when
        none are declared).

    Raises
    ------
    DomainError
        For a domain or machine facts that do not parse (a file's errors name the file).
    InputError
        For a ``domain`` of another type, or machine facts given twice.
    """
    declared, facts = _check_domain(domain)
    return declared, _check_machines(machines, facts)


def check_seed(random_state: Any) -> int | None:
    """Check a release's seed.

    Parameters
    ----------
    random_state
        ``None`` or an integer (not a bool).

    Returns
    -------
    int or None
        The seed as a Python ``int``, or ``None``.

    Raises
    ------
    InputError
        For anything else.
    """
    if random_state is not None and (
        isinstance(random_state, bool) or not isinstance(random_state, int | np.integer)
    ):
        raise InputError(f"the seed must be an integer, got {random_state!r}")
    return None if random_state is None else int(random_state)


def release_domain(
    spec: JobSpec,
    frame: pd.DataFrame,
    declared: Domain | None,
    facts: MachineFacts | None,
    *,
    job: str,
    source: str | None = None,
) -> tuple[Domain, MachineFacts | None, list[str]]:
    """The domain and machine facts a release's mechanism runs on, checked against the job.

    Only the job's schema (its column names and kinds) is used, never its values.

    Parameters
    ----------
    spec
        The job's schema.
    frame
        The job's own executions under the trace's column names (only its columns are
        read).
    declared
        The declared domain, or ``None``: then every column is a log-scale positive
        number whose bounds are bought with budget (a categorical column is refused).
    facts
        The declared machine facts, or ``None`` (logged: the resource columns are
        synthesized like any other).
    job
        The job's name, for the messages.
    source
        The domain file the declaration came from, for the messages.

    Returns
    -------
    tuple
        The domain, the machine facts bound to the job's machine-type and scale-out
        columns (or ``None``), and the warnings about the declaration (also logged).

    Raises
    ------
    DomainError, InputError
        When the declaration does not fit the job's columns, or a categorical column is
        not declared.
    """
    notes: list[str] = []
    if declared is None:
        declared = Domain.from_dict(schema_domain(spec, frame))
    else:
        # the job's column names and kinds only (its schema), never its values
        check_declared_columns(declared, list(frame.columns), job=job, source=source)
        notes += grid_size_warnings(spec, declared, source=source)
    if facts is not None:
        facts = facts.bind(machine_type=spec.machine_type_column, scale_out=spec.scale_out_column)
        facts.check_domain(declared)
    else:
        warn_unbound_resources(spec)
    return declared, facts, notes


def self_check(directory: Path, spent: float, signals: list[int]) -> None:
    """Verify the package as an importer will, so no release publishes rows that fail.

    The package came from the private rows, so a failure depends on them: it is a
    refusal that spent ``spent`` (charged like a mechanism's, or retrying would ask a
    question of the rows for free). An interrupt that broke the reading off (pandas
    reports it as a CSV that cannot be parsed) stays an interrupt.

    Parameters
    ----------
    directory
        The written package (``manifest.json`` and ``rows.csv``).
    spent
        ε the release spent (0 without DP), for the refusal.
    signals
        The signals received so far (see :func:`jobcast.privacy.interrupts.signals_as_interrupts`).

    Raises
    ------
    ReleaseRefusedError
        When the package does not verify.
    KeyboardInterrupt
        When an interrupt broke the reading off.
    """
    try:
        read_share(directory)
    except ImportFormatError as e:
        if interrupted_by(e, signals) is not None:
            raise KeyboardInterrupt("interrupted while verifying the package") from e
        raise ReleaseRefusedError(
            f"the release produced a package that does not verify ({e.reason}"
            + (f"; line {e.line}" if e.line else "")
            + (f", column {e.column!r}" if e.column else "")
            + "): nothing was released. Declare the column's domain with --domain "
            "(`jobcast domain init` writes a skeleton) and release again.",
            spent=spent,
        ) from e


class ReleaseOptions(TypedDict, total=False):
    """The keyword arguments of :func:`jobcast.app.release.release_share`, to pass them on."""

    epsilon: Required[float | None]
    rows: Required[int]
    out: Required[str | os.PathLike[str]]
    method: str
    domain: Domain | Mapping[str, Any] | str | os.PathLike[str] | None
    no_dp: bool
    random_state: int | None
    machines: MachineFacts | Mapping[str, Any] | None
