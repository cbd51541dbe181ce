"""History data and share packages: a job's schema as a domain, a share's rows as executions.

Nothing here reads or writes the history: the use cases that do -- reading a job's rows
for a release, importing a share -- are :mod:`jobcast.app.release` and
:mod:`jobcast.app.share_import`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jobcast.errors import DomainError, InputError
from jobcast.history import ExecutionTable, JobSpec, Provenance, SourceKind
from jobcast.history.importers.kinds import infer_attribute
from jobcast.privacy.release_checks import refuse_one_runtime
from jobcast.privacy.share import ROLES_KEY, SharePackage

__all__ = [
    "job_roles",
    "schema_domain",
    "share_table",
    "share_job_name",
]


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
    refuse_one_runtime(rows, runtime, where=f"share {origin}")
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


def share_job_name(pkg: SharePackage) -> str:
    """The job a share is imported into by default: its origin job and digest."""
    return f"{pkg.job}-share-{str(pkg.manifest['manifest_sha256'])[:8]}"
