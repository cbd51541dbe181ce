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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast import __version__
from jobcast.errors import DomainError, ImportFormatError, InputError
from jobcast.privacy.base import check_rows
from jobcast.privacy.consistency import MACHINES_KEY, MachineFacts
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain, load_domain
from jobcast.privacy.noise import check_epsilon
from jobcast.privacy.registry import (
    DEFAULT_METHOD,
    ROLES,
    bound_roles,
    make_synthesizer,
    role_params,
)
from jobcast.privacy.verify import (
    check_digests,
    check_job_name,
    check_ledger,
    check_rows_in_domain,
    file_digest,
    manifest_digest,
)

__all__ = [
    "SHARE_FORMAT",
    "MANIFEST_FILE",
    "ROWS_FILE",
    "SharePackage",
    "create_share",
    "write_share",
    "write_share_files",
    "read_share",
    "verify_share",
]

logger = logging.getLogger(__name__)

SHARE_FORMAT = "jobcast-share/1"
MANIFEST_FILE = "manifest.json"
ROWS_FILE = "rows.csv"
#: The manifest's optional entry naming the job's runtime, scale-out and machine-type columns.
ROLES_KEY = "roles"

_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "job": str,
    "created": str,
    "jobcast_version": str,
    "method": str,
    "parameters": dict,
    "differential_privacy": bool,
    "epsilon_spent": (int, float, type(None)),
    "budget": list,
    "rows": int,
    "columns": list,
}


@dataclass(frozen=True)
class SharePackage:
    """A share: its manifest (JSON-ready mapping) and its synthetic rows.

    Parameters
    ----------
    manifest
        The manifest (format in this module's docstring).
    rows
        The synthetic executions, columns in manifest order.
    """

    manifest: Mapping[str, Any]
    rows: pd.DataFrame = field(repr=False)

    @property
    def job(self) -> str:
        """Job name."""
        return str(self.manifest["job"])

    @property
    def epsilon(self) -> float | None:
        """Total ε of the release (``None`` without DP)."""
        e = self.manifest.get("epsilon")
        return None if e is None else float(e)

    @property
    def differential_privacy(self) -> bool:
        """Whether the rows are differentially private."""
        return bool(self.manifest["differential_privacy"])


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
    :func:`jobcast.privacy.release.release_share`, which also charges the budget.

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


def _check_manifest(path: Path, m: Any) -> None:
    if not isinstance(m, dict):
        raise ImportFormatError(str(path), "the manifest must be a JSON object")
    for key, typ in _REQUIRED.items():
        if key not in m:
            raise ImportFormatError(str(path), f"missing key {key!r}")
        val = m[key]
        if typ is int and (isinstance(val, bool) or not isinstance(val, int)):
            raise ImportFormatError(str(path), f"{key!r} must be an integer")
        if typ is not int and (not isinstance(val, typ) or isinstance(val, bool) != (typ is bool)):
            what = typ.__name__ if isinstance(typ, type) else "number or null"
            raise ImportFormatError(str(path), f"{key!r} must be a {what}")
    if m["format"] != SHARE_FORMAT:
        raise ImportFormatError(
            str(path), f"unsupported share format {m['format']!r}; expected {SHARE_FORMAT!r}"
        )
    if m["rows"] <= 0:
        raise ImportFormatError(str(path), "'rows' must be positive")
    check_job_name(path, m["job"])
    check_ledger(path, m)
    names = []
    for c in m["columns"]:
        if not isinstance(c, dict) or "name" not in c or "domain" not in c:
            raise ImportFormatError(str(path), "every column needs 'name' and 'domain'")
        names.append(c["name"])
    if len(set(names)) != len(names) or not names:
        raise ImportFormatError(str(path), "column names must be distinct and non-empty")
    roles = m.get(ROLES_KEY, {})
    if not isinstance(roles, dict) or any(
        r not in ROLES or v not in names for r, v in roles.items()
    ):
        raise ImportFormatError(
            str(path), f"{ROLES_KEY!r} must map roles {list(ROLES)} to the share's columns"
        )


def _estimated(dom: NumericDomain, lower: float, upper: float) -> NumericDomain:
    """A column's domain with its bought bounds; ``[0, upper]`` of a log column is linear.

    perfmodel releases a log column whose DP window reaches the bottom of the public
    search range (zeros, or values that small or below, clipped there) on a linear
    scale from 0 (:func:`jobcast.privacy.perfmodel.locate.locate_columns`).
    """
    if dom.log and lower == 0.0:
        return NumericDomain(
            lower=0.0, upper=upper, log=False, integer=dom.integer, bins=dom.bins
        )
    return dom.with_bounds(lower, upper)


def _share_domain(mpath: Path, manifest: Mapping[str, Any]) -> Domain:
    """The declared domains with the release's DP bound estimates filled in."""
    try:
        declared = {c["name"]: c["domain"] for c in manifest["columns"]}
        domain = Domain.from_dict({"columns": declared})
    except DomainError as e:
        raise ImportFormatError(str(mpath), f"bad column domain: {e}") from e
    for c in manifest["columns"]:
        est = c.get("estimated_bounds")
        if est is None:
            continue
        dom = domain[c["name"]]
        ok = (
            isinstance(est, list)
            and len(est) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in est)
        )
        if not ok or not isinstance(dom, NumericDomain) or dom.declared:
            raise ImportFormatError(
                str(mpath),
                f"column {c['name']!r}: 'estimated_bounds' belong only to a numeric column "
                "without declared bounds, as [lower, upper]",
            )
        try:
            domain = domain.replace(c["name"], _estimated(dom, float(est[0]), float(est[1])))
        except DomainError as e:
            raise ImportFormatError(str(mpath), f"column {c['name']!r}: {e}") from e
    return domain


def _check_machine_rows(
    mpath: Path, rpath: Path, manifest: Mapping[str, Any], rows: pd.DataFrame
) -> None:
    """Every row holds together with the manifest's machine facts (when it declares any)."""
    if MACHINES_KEY not in manifest:
        return
    try:
        facts = MachineFacts.from_dict(manifest[MACHINES_KEY])
        if facts.machine_type is None:
            raise DomainError("the machine-type column is not named")
        idx, column = facts.first_inconsistent(rows)
    except DomainError as e:
        raise ImportFormatError(str(mpath), f"bad machine facts: {e}") from e
    if idx >= 0:
        raise ImportFormatError(
            str(rpath),
            "the row does not hold together with the manifest's machine facts (value "
            "x scale-out): the rows were edited or the manifest does not belong to them",
            line=idx + 2,
            column=column,
        )


def _label_readers(domain: Domain) -> dict[str, Any]:
    """Per categorical column, the declared label a CSV cell's text stands for.

    A CSV cell is text: ``"9630"`` is the label ``"9630"`` or ``9630``, whichever the
    domain declares (an undeclared text stays as it is, and the domain check refuses it).
    """
    readers: dict[str, Any] = {}
    for name, dom in domain.columns:
        if isinstance(dom, CategoricalDomain):
            by_text = {str(v): v for v in dom.values}
            readers[name] = lambda text, by_text=by_text: by_text.get(text, text)
    return readers


def read_share(directory: str | Path) -> SharePackage:
    """Read a share package and verify everything it claims.

    Checks, in order: the manifest's keys and format; its ledger (every spend > 0,
    summing to ε; ``differential_privacy``, ε, the method and its parameters agree);
    the columns and row count of ``rows.csv``; every value against the declared domains
    (naming the line); every row against the declared machine facts (``machines``: slots and
    memory follow from the machine type and the scale-out); the SHA-256 digests of
    ``rows.csv`` and of the manifest.

    Raises
    ------
    ImportFormatError
        Naming the file (and line/column where possible) and what does not verify.
    """
    d = Path(directory)
    mpath, rpath = d / MANIFEST_FILE, d / ROWS_FILE
    if not d.is_dir():
        raise ImportFormatError(str(d), "a share is a directory holding manifest.json and rows.csv")
    if not mpath.is_file():
        raise ImportFormatError(str(mpath), "no manifest.json: is this a jobcast share directory?")
    if not rpath.is_file():
        raise ImportFormatError(str(rpath), "no rows.csv next to the manifest")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ImportFormatError(str(mpath), f"not valid JSON: {e.msg}", line=e.lineno) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ImportFormatError(str(mpath), f"cannot read the manifest: {e}") from e
    _check_manifest(mpath, manifest)
    domain = _share_domain(mpath, manifest)
    try:
        rows = pd.read_csv(rpath, converters=_label_readers(domain))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ImportFormatError(str(rpath), f"cannot parse CSV: {e}") from e
    expected = list(domain.names)
    if list(rows.columns) != expected:
        raise ImportFormatError(
            str(rpath),
            f"columns {list(rows.columns)} differ from the manifest's {expected}",
            line=1,
        )
    if len(rows) != manifest["rows"]:
        raise ImportFormatError(
            str(rpath), f"{len(rows)} rows, but the manifest says {manifest['rows']}"
        )
    check_rows_in_domain(rpath, rows, domain)
    _check_machine_rows(mpath, rpath, manifest, rows)
    check_digests(mpath, rpath, manifest)
    return SharePackage(manifest, rows)


def verify_share(path: str | Path) -> dict[str, Any]:
    """Verify a share package (see :func:`read_share`) and return its manifest.

    Raises
    ------
    ImportFormatError
        Saying what does not verify.
    """
    return dict(read_share(path).manifest)
