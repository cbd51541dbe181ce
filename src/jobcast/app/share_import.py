"""Import a received share into the history: verified, claimed, each share once.

``import share`` (:func:`import_share`) and the hub's pull
(:func:`jobcast.app.hub.pull`) both go through :func:`not_new` and
:func:`claimed_import`; the share's rows become executions by
:func:`jobcast.privacy.share_schema.share_table`.
"""

from __future__ import annotations

from pathlib import Path

from jobcast.errors import InputError, UnknownJobError
from jobcast.history import ExecutionTable, HistoryRepository, ImportSummary, JobSpec
from jobcast.privacy.interrupts import signals_as_interrupts
from jobcast.privacy.share import SharePackage, read_share
from jobcast.privacy.share_schema import share_job_name, share_table

__all__ = ["import_share", "claimed_import", "not_new"]


def not_new(repo: HistoryRepository, digest: str, *, own: bool = True) -> tuple[str, str] | None:
    """Why share ``digest`` must not be imported into ``repo``: a key and a message.

    A share imported before would count its rows twice. With ``own``, so would one this
    history released itself (its digest in the budget ledger): its rows are the job's own
    executions again, not a collaborator's. ``import share`` of a named package allows
    that (to compare a share with its origin, into a job of its own); ``hub pull``, which
    takes every share of a job, does not.

    Parameters
    ----------
    repo
        The history to import into.
    digest
        The share's ``manifest_sha256``.
    own
        Refuse a share this history released itself, too.

    Returns
    -------
    tuple or None
        ``("imported", ...)``, ``("released", ...)``, or None when it may be imported.
    """
    held = repo.share_imported_into(digest)
    if held is not None:
        return "imported", (
            f"this share (sha256 {digest[:16]}...) was already imported into job {held!r}; "
            "importing it again would count its rows twice"
        )
    released = repo.share_released_from(digest) if own else None
    if released is not None:
        return "released", (
            f"this share (sha256 {digest[:16]}...) was released from this history's job "
            f"{released!r}; importing it would count that job's own executions again, as a "
            "collaborator's"
        )
    return None


def import_share(
    repo: HistoryRepository,
    path: Path,
    *,
    job: str | None = None,
    merge_into: str | None = None,
    take_over: bool = False,
) -> tuple[SharePackage, ImportSummary]:
    """Verify a share package and add its rows as synthetic executions.

    Parameters
    ----------
    repo
        The history to import into.
    path
        The share package's folder (``manifest.json`` and ``rows.csv``).
    job
        Name of the new job (default
        :func:`~jobcast.privacy.share_schema.share_job_name`); it must not exist yet.
    merge_into
        Add the rows to this existing job instead (its attributes must match).
    take_over
        Take over the claim an interrupted import of this share left (see
        :func:`claimed_import`).

    Returns
    -------
    tuple
        The verified package and the import's summary.

    Raises
    ------
    ImportFormatError
        When the package does not verify (see :func:`jobcast.privacy.share.read_share`).
    InputError
        When the share was imported before, ``job`` exists, or both options are given.
    UnknownJobError, JobConflictError
        When ``merge_into`` does not exist or holds other attributes.
    """
    if job is not None and merge_into is not None:
        raise InputError("give either --job NEW (a new job) or --merge-into JOB, not both")
    pkg = read_share(path)
    digest = str(pkg.manifest["manifest_sha256"])
    why_not = not_new(repo, digest, own=False)
    if why_not is not None:
        raise InputError(f"{why_not[1]}. Nothing was written.")
    existing: JobSpec | None = None
    if merge_into is not None:
        existing = repo.job(merge_into)
        name = merge_into
    else:
        name = job if job is not None else share_job_name(pkg)
        try:
            repo.job(name)
        except UnknownJobError:
            pass
        else:
            raise InputError(
                f"job {name!r} already exists; pass --merge-into {name} to add the share's "
                "rows to it, or --job NEW for a job of its own"
            )
    table = share_table(pkg, name, existing, str(path.resolve()))
    done = claimed_import(repo, digest, table, take_over=take_over)
    if isinstance(done, tuple):
        raise InputError(f"{done[1]}. Nothing was written.")
    return pkg, done


def claimed_import(
    repo: HistoryRepository, digest: str, table: ExecutionTable, *, take_over: bool = False
) -> ImportSummary | tuple[str, str]:
    """Import ``table``, the rows of share ``digest``, under the share's claim.

    The claim keeps two imports of one share apart (``import share`` and ``hub pull``
    alike); it is dropped when the import ends, also on SIGINT and SIGTERM (which unwind
    here). Only a process killed outright leaves it, until it expires or ``take_over``
    (see :meth:`~jobcast.history.HistoryRepository.claim_share_import`).

    Parameters
    ----------
    repo
        The history to import into.
    digest
        The share's ``manifest_sha256``, the key of its claim.
    table
        The share's rows as executions (see
        :func:`~jobcast.privacy.share_schema.share_table`).
    take_over
        Take over a claim an interrupted import left.

    Returns
    -------
    ImportSummary or tuple
        The import's summary, or why nothing was imported: ``("imported", message)``
        (the history holds the share) or ``("importing", message)`` (another import
        claims it).
    """
    with signals_as_interrupts():
        refused = repo.try_claim_share_import(
            digest, job=table.job.name, origin=table.provenance.origin, take_over=take_over
        )
        if refused is not None:
            return refused
        try:
            return repo.import_executions(table)
        finally:
            # imported or not, the claim is over: the import itself now records the digest
            repo.drop_share_claim(digest)
