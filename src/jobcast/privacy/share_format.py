"""The share package's format: its files, the manifest's required keys, the package object.

The format itself is described in :mod:`jobcast.privacy.share`; writing a package is
there, reading and verifying one in :mod:`jobcast.privacy.share_read`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jobcast.errors import ImportFormatError
from jobcast.privacy.registry import ROLES
from jobcast.privacy.verify import check_job_name, check_ledger

__all__ = [
    "SHARE_FORMAT",
    "MANIFEST_FILE",
    "ROWS_FILE",
    "ROLES_KEY",
    "SharePackage",
    "check_manifest",
]

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


def check_manifest(path: Path, m: Any) -> None:
    """Refuse a manifest whose keys, types, format, ledger, columns or roles are wrong."""
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
