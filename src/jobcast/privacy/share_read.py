"""Reading a share package and verifying everything it claims.

The format is described in :mod:`jobcast.privacy.share`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from jobcast.errors import DomainError, ImportFormatError
from jobcast.privacy.consistency import MACHINES_KEY, MachineFacts
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain
from jobcast.privacy.share_format import MANIFEST_FILE, ROWS_FILE, SharePackage, check_manifest
from jobcast.privacy.verify import check_digests, check_rows_in_domain

__all__ = ["read_share", "verify_share"]


def _estimated(dom: NumericDomain, lower: float, upper: float) -> NumericDomain:
    """A column's domain with its bought bounds; ``[0, upper]`` of a log column is linear.

    perfmodel releases a log column whose DP window reaches the bottom of the public
    search range (zeros, or values that small or below, clipped there) on a linear
    scale from 0 (:func:`jobcast.privacy.perfmodel.locate.locate_columns`).
    """
    if dom.log and lower == 0.0:
        return NumericDomain(lower=0.0, upper=upper, log=False, integer=dom.integer, bins=dom.bins)
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
    check_manifest(mpath, manifest)
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
