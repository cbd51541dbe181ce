"""Release a share: budget check, mechanism and charge under a lock, then the files.

:func:`release_share` is the only way a job's history becomes a share; the command line
and the service both call it. Differential privacy is spent when the mechanism runs on
the private rows, so the charge is committed before anything it produced reaches the
disk. Its order:

1. validate ε, the row count, ``out``, the method and the domain -- before any mechanism
   reads the private rows, so a bad argument never costs budget (the checks are
   :mod:`jobcast.privacy.release`);
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
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobcast.app.held_logs import held_logs
from jobcast.errors import NotEnoughDataError, ReleaseAbortedError, ReleaseRefusedError
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.ledger import ReleaseLease
from jobcast.privacy.consistency import MachineFacts
from jobcast.privacy.domain import Domain
from jobcast.privacy.interrupts import interrupted_by, signals_as_interrupts
from jobcast.privacy.registry import DEFAULT_METHOD
from jobcast.privacy.release import (
    ShareRelease,
    check_declaration,
    check_release_arguments,
    check_seed,
    release_domain,
    self_check,
)
from jobcast.privacy.release_checks import runtime_output_warnings
from jobcast.privacy.share import create_share, write_share_files
from jobcast.privacy.share_schema import job_roles

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReleaseAbortedError", "release_frame", "release_share"]

logger = logging.getLogger(__name__)


def release_frame(repo: HistoryRepository, job: str) -> tuple[JobSpec, pd.DataFrame]:
    """A job's own executions under the trace's column names (no shared rows, ever).

    Parameters
    ----------
    repo
        The job history.
    job
        The job's name.

    Returns
    -------
    tuple
        The job's schema and its own executions: the scale-out and machine-type columns
        when the job has them (executions without a value there are left out), the
        attributes and the runtime.

    Raises
    ------
    UnknownJobError
        When the job does not exist.
    NotEnoughDataError
        When it has no own executions.
    """
    spec = repo.job(job)
    own = repo.executions(job, include_shared=False)
    if own.empty:
        raise NotEnoughDataError(f"job {job!r} has no own executions to share")
    columns: dict[str, str] = {}
    if spec.scale_out_column:
        columns["scale_out"] = spec.scale_out_column
    if spec.machine_type_column:
        columns["machine_type"] = spec.machine_type_column
    # the job's columns, whatever its rows hold: a row without a scale-out or machine
    # type is left out (a per-row step, as rows outside the domain are), so no single
    # execution decides which columns a share has
    own = own.dropna(subset=list(columns))
    if own.empty:
        raise NotEnoughDataError(
            f"job {job!r} has no own executions with values in {', '.join(columns.values())} "
            "to share (executions without them are left out of a share)"
        )
    frame = own[[*columns, *spec.attribute_names]].rename(columns=columns)
    frame[spec.runtime_column or "gross_runtime"] = own["gross_runtime"].to_numpy()
    return spec, frame.reset_index(drop=True)


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
        Synthetic rows to write (1 .. :data:`jobcast.privacy.release.MAX_ROWS`).
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
    declared, facts = check_declaration(domain, machines)
    seed = check_seed(random_state)
    spec, frame = release_frame(repo, job)
    source = str(domain) if isinstance(domain, str | os.PathLike) else None
    declared, facts, notes = release_domain(spec, frame, declared, facts, job=job, source=source)

    spend = 0.0 if no_dp else float(eps or 0.0)
    refused: ReleaseRefusedError | None = None
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    was_empty_dir = path.is_dir()
    moved = False
    try:
        with signals_as_interrupts() as signals, held_logs() as held:
            # the lock is held for the check, the mechanism and the charge only; what the
            # mechanism logs is shown once its charge is committed (dropped when not)
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
            held.emit()
            if refused is not None:  # raised after the block, so the charge commits
                raise refused
            # committed: from here on, whatever stops the release leaves a charged entry
            try:
                # the released rows only: post-processing, free
                notes += runtime_output_warnings(pkg.rows, str(job_roles(spec)["runtime"]), job=job)
                manifest = write_share_files(pkg, tmp)
                self_check(tmp, spent=spend, signals=signals)
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
