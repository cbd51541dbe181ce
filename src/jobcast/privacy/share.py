"""Share packages: a directory with ``manifest.json`` and ``rows.csv`` of synthetic executions.

``manifest.json`` (format ``jobcast-share/1``)::

    {
      "format": "jobcast-share/1",
      "job": "sort",
      "created": "2026-01-01T12:00:00+00:00",          # UTC, ISO 8601
      "jobcast_version": "0.1.0",
      "method": "perfmodel",
      "parameters": {...},                             # the synthesizer's parameters
      "seed": 7,                                       # sampling seed (OpenDP noise is not seeded)
      "differential_privacy": true,                    # false only with no_dp=True (--no-dp)
      "epsilon": 1.0,                                  # null without DP
      "epsilon_spent": 1.0,
      "budget": [{"label": "context:count", "epsilon": 0.05}, ...],   # the accountant's ledger
      "rows": 1000,                                    # synthetic rows in rows.csv
      "columns": [{"name": "instance_count", "type": "numeric",
                   "domain": {...declared...}, "estimated_bounds": null}, ...],
      "roles": {"runtime": "secs", "scale_out": "nodes"},   # the job's own column names
      "machines": {"machine_type": "machine_type", "scale_out": "instance_count",
                   "totals": ["slots"], "types": {"m4.2xlarge": {"slots": 8}}},
                                                       # only with declared machine facts:
                                                       # these columns are derived, not drawn
      "rows_sha256": "...",                            # SHA-256 of rows.csv as written
      "manifest_sha256": "..."                         # SHA-256 of this manifest's canonical
    }                                                  # JSON without this key: the share's digest

``rows.csv`` has one synthetic execution per line with exactly the manifest's columns
(the job's attributes plus ``gross_runtime`` and ``instance_count`` where present).
Nothing in a package depends on the private row count or on raw extremes or categories
that were not declared or paid for: estimated bounds appear only as DP outputs.
:func:`verify_share` checks a package (see :mod:`jobcast.privacy.verify`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast import __version__
from jobcast.errors import DomainError, InputError
from jobcast.privacy.base import check_rows
from jobcast.privacy.consistency import MACHINES_KEY, MachineFacts
from jobcast.privacy.domain import Domain, NumericDomain, load_domain
from jobcast.privacy.noise import check_epsilon
from jobcast.privacy.registry import DEFAULT_METHOD, bound_roles, make_synthesizer, role_params
from jobcast.privacy.share_format import (
    MANIFEST_FILE,
    ROLES_KEY,
    ROWS_FILE,
    SHARE_FORMAT,
    SharePackage,
)
from jobcast.privacy.share_read import read_share, verify_share
from jobcast.privacy.verify import file_digest, manifest_digest

__all__ = [
    "SHARE_FORMAT",
    "MANIFEST_FILE",
    "ROWS_FILE",
    "ROLES_KEY",
    "SharePackage",
    "create_share",
    "write_share",
    "write_share_files",
    "read_share",
    "verify_share",
]

logger = logging.getLogger(__name__)


def _json_safe(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return [_json_safe(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _json_safe(x) for k, x in v.items()}
    return v


def _as_domain(domain: Domain | Mapping[str, Any] | str | Path) -> Domain:
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, str | Path):
        return load_domain(domain)
    if isinstance(domain, Mapping):
        return Domain.from_dict(domain)
    raise DomainError(f"expected a Domain, a domain dict or a domain file, got {domain!r}")


def create_share(
    frame: pd.DataFrame,
    *,
    job: str,
    epsilon: float | None,
    rows: int,
    method: str = DEFAULT_METHOD,
    domain: Domain | Mapping[str, Any] | str | Path,
    seed: int | None = None,
    no_dp: bool = False,
    params: Mapping[str, Any] | None = None,
    machines: MachineFacts | None = None,
    roles: Mapping[str, str | None] | None = None,
) -> SharePackage:
    """Synthesize a share package from a job's private executions (pure: writes nothing).

    Parameters
    ----------
    frame
        The job's executions; columns exactly those declared in ``domain``.
    job
        Job name recorded in the manifest.
    epsilon
        Total ε of this release (> 0); ignored (recorded as ``null``) with ``no_dp``.
    rows
        Number of synthetic rows (> 0), the user's choice.
    method
        Synthesizer name (see :func:`jobcast.privacy.make_synthesizer`).
    domain
        Declared column domains (object, JSON-ready dict, or domain file path).
    seed
        Seed of the sampling steps.
    no_dp
        Release *without* differential privacy; must be given explicitly and is
        recorded in the manifest.
    params
        Extra synthesizer parameters (e.g. ``{"k": 3}``).
    machines
        Public machine facts, bound to the job's columns
        (:meth:`jobcast.privacy.consistency.MachineFacts.bind`): their columns are not
        synthesized but derived from each synthetic row's machine type and scale-out.
    roles
        The job's column names by role (``runtime``, ``scale_out``, ``machine_type``;
        public schema, never values): the synthesizer models the runtime column the job
        really has, and the manifest records them (``roles``) for the importer.

    Returns
    -------
    SharePackage

    Raises
    ------
    PrivacyError
        If ``epsilon`` is not > 0 and ``no_dp`` is not set.
    InputError
        On a bad row count, job name, method or parameter.
    DomainError
        On unknown columns or values outside a declared domain.
    """
    if not isinstance(job, str) or not job.strip():
        raise InputError("a share needs a non-empty job name")
    n_rows = check_rows(rows)
    if no_dp is not True and no_dp is not False:
        raise InputError(f"no_dp must be True or False, got {no_dp!r}")
    eps: float | None = None if no_dp else check_epsilon(epsilon)
    dom = _as_domain(domain)
    synth_dom = dom
    if machines is not None:
        machines.check_domain(dom)
        machines.report_private(frame)
        synth_dom = machines.synthesis_domain(dom)
        frame = frame.drop(columns=[c for c in machines.columns if c in frame.columns])
    role_map = bound_roles(roles, dom.names)
    synth = make_synthesizer(
        method,
        domain=synth_dom,
        epsilon=eps if eps is not None else 1.0,
        no_dp=no_dp,
        random_state=seed,
        **{**role_params(method, role_map), **dict(params or {})},
    )
    synth.fit(frame)
    synthetic = synth.sample(n_rows)
    if machines is not None:
        synthetic = machines.derive(synthetic, dom.names)
    columns = []
    for name, d in dom.columns:
        resolved = synth.domain_[name] if name in synth_dom else d
        est = None
        if isinstance(d, NumericDomain) and not d.declared and isinstance(resolved, NumericDomain):
            est = [resolved.lower, resolved.upper]
        columns.append(
            {
                "name": name,
                "type": "numeric" if isinstance(d, NumericDomain) else "categorical",
                "domain": _json_safe(d.to_dict()),
                "estimated_bounds": est,
            }
        )
    manifest: dict[str, Any] = {
        "format": SHARE_FORMAT,
        "job": job,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "jobcast_version": __version__,
        "method": synth.method,
        "parameters": _json_safe(synth.parameters()),
        "seed": seed,
        "differential_privacy": not no_dp,
        "epsilon": eps,
        "epsilon_spent": synth.epsilon_spent_,
        "budget": [s.to_dict() for s in synth.ledger_],
        "rows": n_rows,
        "columns": columns,
    }
    if role_map:
        manifest[ROLES_KEY] = role_map
    if machines is not None:
        manifest[MACHINES_KEY] = machines.to_dict()
    logger.info(
        "created share of job %r: method %s, %d synthetic rows, %s",
        job,
        synth.method,
        n_rows,
        "no DP" if no_dp else f"epsilon={eps}",
    )
    return SharePackage(manifest, synthetic)


def write_share_files(pkg: SharePackage, directory: str | Path) -> dict[str, Any]:
    """Write ``rows.csv`` and the sealed ``manifest.json`` into an existing directory.

    Returns the manifest as written, with ``rows_sha256`` and ``manifest_sha256``.
    """
    d = Path(directory)
    rpath = d / ROWS_FILE
    pkg.rows.to_csv(rpath, index=False)
    manifest: dict[str, Any] = json.loads(json.dumps(_json_safe(dict(pkg.manifest))))
    manifest.pop("manifest_sha256", None)
    manifest["rows_sha256"] = file_digest(rpath)
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (d / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def write_share(pkg: SharePackage, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``DIR/manifest.json`` and ``DIR/rows.csv``; returns the directory.

    This writes files only; a release from a job's history goes through
    :func:`jobcast.app.release.release_share`, which also charges the budget.

    Raises
    ------
    InputError
        If the directory already holds a share and ``overwrite`` is false.
    """
    d = Path(out_dir)
    if (d / MANIFEST_FILE).exists() and not overwrite:
        raise InputError(f"{d} already holds a share; choose another --out directory")
    d.mkdir(parents=True, exist_ok=True)
    write_share_files(pkg, d)
    return d
