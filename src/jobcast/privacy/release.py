"""The release of a share: budget check, mechanism and charge under a lock, then the files.

:func:`release_share` is the only way a job's history becomes a share; the command line
and the service both call it. Differential privacy is spent when the mechanism runs on
the private rows, so the charge is committed before anything it produced reaches the
disk. Its order:

1. validate ε, the row count, ``out``, the method and the domain -- before any mechanism
   reads the private rows, so a bad argument never costs budget;
2. lock the job's ledger (``BEGIN IMMEDIATE`` on SQLite, an advisory and a row lock on
   PostgreSQL; waiting for another release is logged), check the budget, run the
   mechanism (in memory), insert the ledger entry (with the fingerprints of the
   executions it used) and commit: the lock is released;
3. write ``rows.csv`` and the sealed ``manifest.json`` into a temporary directory next to
   ``out``, verify it as an importer will, record its digest in the entry and rename the
   directory to ``out``.

A failure (or Ctrl-C) before the commit charges nothing and leaves nothing. After it,
the ε stays charged: a package that does not verify, a write that fails or an interrupt
turn the entry into a refused release (0 rows, no destination) and the temporary
directory is removed (SIGINT and SIGTERM unwind to do so); a process killed outright
(SIGKILL, a crash) leaves its entry naming ``out`` with no digest and perhaps a
``.OUT.partial-*`` directory -- charged, so harmless to the budget. A mechanism's
refusal (:class:`~jobcast.errors.ReleaseRefusedError`: a privately located range
collapsed or was not found) was decided on the rows: what it spent is committed as a
ledger entry with 0 rows before the error is raised, or retrying until a release passes
would leak for free. Concurrent releases queue at the lock, so together they can never
spend more than the budget.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Required, TypedDict

import numpy as np

from jobcast.errors import (
    DomainError,
    ImportFormatError,
    InputError,
    PrivacyError,
    ReleaseAbortedError,
    ReleaseRefusedError,
)
from jobcast.history import HistoryRepository
from jobcast.history.ledger import ReleaseLease
from jobcast.history.values import check_epsilon
from jobcast.privacy.consistency import MachineFacts, split_declaration
from jobcast.privacy.domain import Domain, read_domain_json
from jobcast.privacy.history_io import job_roles, release_frame, schema_domain
from jobcast.privacy.interrupts import interrupted_by, signals_as_interrupts
from jobcast.privacy.registry import DEFAULT_METHOD, METHODS, make_synthesizer
from jobcast.privacy.release_checks import (
    check_declared_columns,
    grid_size_warnings,
    runtime_output_warnings,
    warn_unbound_resources,
)
from jobcast.privacy.share import MANIFEST_FILE, create_share, read_share, write_share_files
from jobcast.privacy.verify import MIN_EPSILON

__all__ = [
    "MAX_ROWS",
    "ReleaseAbortedError",
    "ReleaseOptions",
    "ShareRelease",
    "check_release_arguments",
    "release_share",
]

logger = logging.getLogger(__name__)

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


def _self_check(directory: Path, spent: float, signals: list[int]) -> None:
    """Verify the package as an importer will, so no release publishes rows that fail.

    The package came from the private rows, so a failure depends on them: it is a
    refusal that spent ``spent`` (charged like a mechanism's, or retrying would ask a
    question of the rows for free). An interrupt that broke the reading off (pandas
    reports it as a CSV that cannot be parsed) stays an interrupt.
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


def _charged_failure(
    repo: HistoryRepository,
    entry: int,
    error: BaseException,
    *,
    job: str,
    spent: float,
    signals: list[int],
) -> BaseException:
    """Turn the committed entry of a release that did not complete into a refusal.

    Returns the error to raise: it says that the mechanism ran and what is charged.
    """
    try:
        repo.settle_release(entry, None)
    except Exception:  # the charge stands anyway; only the entry still names `out`
        logger.warning(
            "could not mark ledger entry %d of job %r as refused", entry, job, exc_info=True
        )
    charged = (
        f"ε = {spent:g} is charged to the ledger of job {job!r} as a refused release (0 rows; "
        "`jobcast budget --job NAME` lists it)"
        if spent > 0
        else f"the release without DP is recorded in job {job!r}'s ledger as refused"
    )
    if isinstance(error, ReleaseRefusedError):
        return ReleaseRefusedError(
            f"{error} It is charged to the ledger of job {job!r} as a refused release "
            f"(ε = {spent:g}, 0 rows; `jobcast budget --job NAME` lists it).",
            spent=spent,
        )
    signal_name = interrupted_by(error, signals)
    if signal_name is None and not isinstance(error, Exception):
        signal_name = type(error).__name__
    what = (
        f"was interrupted ({signal_name})"
        if signal_name is not None
        else f"failed ({type(error).__name__}: {error})"
    )
    return ReleaseAbortedError(
        f"the release of job {job!r} {what} after its mechanism had run on the private "
        f"rows: nothing was written, and {charged}.",
        spent=spent,
        interrupted=signal_name,
    )


def _charge_refusal(
    lease: ReleaseLease, error: ReleaseRefusedError, *, job: str, method: str, no_dp: bool
) -> ReleaseRefusedError:
    """Record what a refusing mechanism spent (0 rows, no destination); the error to raise."""
    if no_dp or not error.spent > 0:
        return error
    lease.record(epsilon=error.spent, method=method, rows=0, no_dp=False)
    return ReleaseRefusedError(
        f"{error} It is charged to the ledger of job {job!r} as a refused release "
        "(0 rows; `jobcast budget --job NAME` lists it).",
        spent=error.spent,
    )


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


class ReleaseOptions(TypedDict, total=False):
    """The keyword arguments of :func:`release_share`, for callers that pass them on."""

    epsilon: Required[float | None]
    rows: Required[int]
    out: Required[str | os.PathLike[str]]
    method: str
    domain: Domain | Mapping[str, Any] | str | os.PathLike[str] | None
    no_dp: bool
    random_state: int | None
    machines: MachineFacts | Mapping[str, Any] | None


def release_share(
    repo: HistoryRepository,
    job: str,
    *,
    epsilon: float | None,
    rows: int,
    out: str | os.PathLike[str],
    method: str = DEFAULT_METHOD,
    domain: Domain | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    no_dp: bool = False,
    random_state: int | None = None,
    machines: MachineFacts | Mapping[str, Any] | None = None,
) -> ShareRelease:
    """Release a differentially private share of ``job``'s own executions, atomically.

    Parameters
    ----------
    repo
        The job history (its ledger is charged).
    job
        The job to share; only its own executions are read, never shared ones.
    epsilon
        ε of this release (``MIN_EPSILON`` .. the remaining budget); ``None`` with
        ``no_dp``.
    rows
        Synthetic rows to write (1 .. :data:`MAX_ROWS`).
    out
        New directory for ``manifest.json`` and ``rows.csv`` (must not exist, or be empty).
    method
        Synthesizer (see :data:`jobcast.privacy.METHODS`).
    domain
        Public column domains (object, JSON-ready dict or file); ``None`` declares only
        the schema and buys bounds with budget. A dict or file may hold the public
        machine facts too (its ``machines`` entry, see
        :mod:`jobcast.privacy.consistency`).
    no_dp
        Release WITHOUT differential privacy (recorded in manifest and ledger).
    random_state
        Seed of the sampling steps (recorded in the manifest).
    machines
        Public machine facts (:class:`~jobcast.privacy.consistency.MachineFacts` or its
        JSON form) when the domain does not hold them: the columns they name (slots,
        memory) are derived from each synthetic row's machine type and scale-out.

    Returns
    -------
    ShareRelease

    Raises
    ------
    PrivacyError, InputError, DomainError
        On a bad argument, before anything runs.
    BudgetExceededError
        When ε does not fit the job's remaining budget (checked under the lock).
    ReleaseRefusedError
        When the mechanism refuses on its noisy outputs (a range it bought collapsed or
        was not located), or its package does not verify; what it spent is charged (a
        ledger entry with 0 rows).
    ReleaseAbortedError
        When writing the package failed or was interrupted (SIGINT, SIGTERM) after the
        mechanism ran: ε is charged (a ledger entry with 0 rows), nothing is written.
    UnknownJobError, NotEnoughDataError
        When the job does not exist or has no own executions.
    """
    eps, n_rows, path = check_release_arguments(
        epsilon=epsilon, rows=rows, out=out, method=method, no_dp=no_dp
    )
    declared, facts = _check_domain(domain)
    facts = _check_machines(machines, facts)
    if random_state is not None and (
        isinstance(random_state, bool) or not isinstance(random_state, int | np.integer)
    ):
        raise InputError(f"the seed must be an integer, got {random_state!r}")
    seed = None if random_state is None else int(random_state)
    spec, frame = release_frame(repo, job)
    notes: list[str] = []
    if declared is None:
        declared = Domain.from_dict(schema_domain(spec, frame))
    else:
        source = str(domain) if isinstance(domain, str | os.PathLike) else None
        # the job's column names and kinds only (its schema), never its values
        check_declared_columns(declared, list(frame.columns), job=job, source=source)
        notes += grid_size_warnings(spec, declared, source=source)
    if facts is not None:
        facts = facts.bind(machine_type=spec.machine_type_column, scale_out=spec.scale_out_column)
        facts.check_domain(declared)
    else:
        warn_unbound_resources(spec)

    spend = 0.0 if no_dp else float(eps or 0.0)
    refused: ReleaseRefusedError | None = None
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    was_empty_dir = path.is_dir()
    moved = False
    try:
        with signals_as_interrupts() as signals:
            # the lock is held for the check, the mechanism and the charge only
            with repo.release_lock(job) as lease:
                lease.check(eps, no_dp=no_dp)
                try:
                    pkg = create_share(
                        frame,
                        job=job,
                        epsilon=eps,
                        rows=n_rows,
                        method=method,
                        domain=declared,
                        seed=seed,
                        no_dp=no_dp,
                        machines=facts,
                        roles=job_roles(spec),
                    )
                except ReleaseRefusedError as e:
                    refused = _charge_refusal(lease, e, job=job, method=method, no_dp=no_dp)
                    entry = -1
                else:
                    entry = lease.record(
                        epsilon=eps,
                        method=str(pkg.manifest["method"]),
                        rows=n_rows,
                        no_dp=no_dp,
                        destination=str(path),
                    )
                state = lease.state
            if refused is not None:  # raised after the block, so the charge commits
                raise refused
            # committed: from here on, whatever stops the release leaves a charged entry
            try:
                # the released rows only: post-processing, free
                notes += runtime_output_warnings(pkg.rows, str(job_roles(spec)["runtime"]), job=job)
                manifest = write_share_files(pkg, tmp)
                _self_check(tmp, spent=spend, signals=signals)
                repo.settle_release(entry, str(manifest["manifest_sha256"]))
                if was_empty_dir:
                    path.rmdir()
                os.rename(tmp, path)
                moved = True
            except BaseException as e:
                raise _charged_failure(repo, entry, e, job=job, spent=spend, signals=signals) from e
    finally:
        if not moved:
            shutil.rmtree(tmp, ignore_errors=True)
            if was_empty_dir and not path.exists():
                path.mkdir()
    spent = state.spent + (eps or 0.0)
    logger.info(
        "released %d rows of job %r to %s (%s); spent %g of %g",
        n_rows,
        job,
        path,
        "no DP" if no_dp else f"epsilon={eps:g}",
        spent,
        state.budget,
    )
    return ShareRelease(
        manifest, path, eps, n_rows, budget=state.budget, spent=spent, warnings=tuple(notes)
    )
