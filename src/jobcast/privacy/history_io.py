"""Between the job history and share packages: what a release reads, what an import writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from jobcast.errors import DomainError, InputError, NotEnoughDataError, UnknownJobError
from jobcast.history import (
    ExecutionTable,
    HistoryRepository,
    ImportSummary,
    JobSpec,
    Provenance,
    SourceKind,
)
from jobcast.history.importers.kinds import infer_attribute
from jobcast.privacy.interrupts import signals_as_interrupts
from jobcast.privacy.share import ROLES_KEY, SharePackage, read_share

__all__ = [
    "job_roles",
    "release_frame",
    "schema_domain",
    "share_table",
    "share_job_name",
    "import_share",
    "claimed_import",
    "not_new",
]


def release_frame(repo: HistoryRepository, job: str) -> tuple[JobSpec, pd.DataFrame]:
    """A job's own executions under the trace's column names (no shared rows, ever)."""
    spec = repo.job(job)
    own = repo.executions(job, include_shared=False)
    if own.empty:
        raise NotEnoughDataError(f"job {job!r} has no own executions to share")
    columns: dict[str, str] = {}
    if spec.scale_out_column and own["scale_out"].notna().all():
        columns["scale_out"] = spec.scale_out_column
    if spec.machine_type_column and own["machine_type"].notna().all():
        columns["machine_type"] = spec.machine_type_column
    frame = own[[*columns, *spec.attribute_names]].rename(columns=columns)
    frame[spec.runtime_column or "gross_runtime"] = own["gross_runtime"].to_numpy()
    return spec, frame.reset_index(drop=True)


def job_roles(spec: JobSpec) -> dict[str, str | None]:
    """The job's runtime, scale-out and machine-type column names (its schema, no values)."""
    return {
        "runtime": spec.runtime_column or "gross_runtime",
        "scale_out": spec.scale_out_column,
        "machine_type": spec.machine_type_column,
    }


def schema_domain(spec: JobSpec, frame: pd.DataFrame) -> dict[str, Any]:
    """A domain declaring nothing: bounds are bought with budget (log-scale positive numbers).

    Only the job's schema is used here, never the private values.
    """
    columns: dict[str, Any] = {}
    for name in frame.columns:
        if name == spec.machine_type_column or (
            name in spec.attribute_names and not spec.attribute(name).numeric
        ):
            raise DomainError(
                f"column {name!r} is categorical: its categories must be declared (they are "
                "not read from your data). Write a domain file with "
                f'"{name}": {{"type": "categorical", "values": [...]}} and pass --domain FILE'
            )
        entry: dict[str, Any] = {"type": "numeric", "log": True}
        if name == spec.scale_out_column:
            entry["integer"] = True
        columns[name] = entry
    return {"columns": columns}


def share_table(
    pkg: SharePackage, job: str, existing: JobSpec | None, origin: str
) -> ExecutionTable:
    """The share's rows as executions of ``job`` (column names as in the job's traces)."""
    rows = pkg.rows
    roles = pkg.manifest.get(ROLES_KEY) or {}  # the publisher's column names (verified)
    runtime = (existing.runtime_column if existing else None) or roles.get(
        "runtime", "gross_runtime"
    )
    scale = (existing.scale_out_column if existing else None) or roles.get(
        "scale_out", "instance_count"
    )
    mtype = (existing.machine_type_column if existing else None) or roles.get(
        "machine_type", "machine_type"
    )
    if runtime not in rows.columns:
        raise InputError(f"the share has no runtime column {runtime!r}; it cannot be used")
    special = {runtime, scale, mtype}
    attrs = [c for c in rows.columns if c not in special]
    frame = pd.DataFrame({"gross_runtime": rows[runtime].astype(float)})
    if scale in rows.columns:
        frame["scale_out"] = rows[scale].round().astype("int64")
    if mtype in rows.columns:
        frame["machine_type"] = rows[mtype].astype(str)
    for a in attrs:
        frame[a] = rows[a]
    if existing is not None:
        spec = existing
    else:
        spec = JobSpec(
            job,
            tuple(
                infer_attribute(a, numeric=pd.api.types.is_numeric_dtype(rows[a])) for a in attrs
            ),
            runtime_column=runtime,
            scale_out_column=scale if scale in rows.columns else None,
            machine_type_column=mtype if mtype in rows.columns else None,
        )
    digest = pkg.manifest.get("manifest_sha256")
    prov = Provenance(
        SourceKind.SHARE,
        f"{pkg.job} share {origin}" + (f" sha256:{digest}" if digest else ""),
        pkg.epsilon if pkg.differential_privacy else None,
    )
    return ExecutionTable(spec, frame, prov)


def not_new(repo: HistoryRepository, digest: str, *, own: bool = True) -> tuple[str, str] | None:
    """Why share ``digest`` must not be imported into ``repo``: a key and a message.

    ``("imported", ...)``, ``("released", ...)``, or None when it may be imported.

    A share imported before would count its rows twice. With ``own``, so would one this
    history released itself (its digest in the budget ledger): its rows are the job's own
    executions again, not a collaborator's. ``import share`` of a named package allows
    that (to compare a share with its origin, into a job of its own); ``hub pull``, which
    takes every share of a job, does not.
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


def share_job_name(pkg: SharePackage) -> str:
    """The job a share is imported into by default: its origin job and digest."""
    return f"{pkg.job}-share-{str(pkg.manifest['manifest_sha256'])[:8]}"


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
        Name of the new job (default :func:`share_job_name`); it must not exist yet.
    merge_into
        Add the rows to this existing job instead (its attributes must match).
    take_over
        Take over the claim an interrupted import of this share left (see
        :func:`claimed_import`).

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
