"""Checks that a share package is what its release wrote: digests, ledger, rows in their domains.

A manifest carries ``rows_sha256`` (the SHA-256 of ``rows.csv`` as written) and
``manifest_sha256`` (the SHA-256 of its own canonical JSON without that key; it also
covers ``rows_sha256`` and so identifies the whole package). Digests reveal any change
made without recomputing them; the consistency checks below (the ledger sums to ε, no
negative or unknown entries, ``differential_privacy`` agrees with ε, the method and its
parameters) also hold against an edit that recomputed them. Authenticity beyond that
needs the publisher's word: its history records the digest of every release
(``jobcast budget``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import ImportFormatError, PrivacyError
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain
from jobcast.privacy.noise import check_epsilon
from jobcast.privacy.registry import METHODS

__all__ = [
    "MIN_EPSILON",
    "canonical_json",
    "manifest_digest",
    "file_digest",
    "check_ledger",
    "check_rows_in_domain",
    "check_digests",
    "check_job_name",
    "first_outside",
]

#: The smallest ε a release may spend: below it the noise drowns every signal and a
#: typo (``1e-300``) is the likelier cause.
MIN_EPSILON = 1e-6

_LEDGER_KEYS = {"label", "epsilon"}
_REL_TOL = 1e-9
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON of ``obj``: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's canonical JSON without its ``manifest_sha256`` key."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    # a JSON round trip first, so the writer and the reader hash the same value types
    return hashlib.sha256(canonical_json(json.loads(json.dumps(body)))).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_job_name(path: Path, name: Any) -> None:
    """A share's job name becomes a local job name: printable, short, not empty."""
    if not isinstance(name, str) or not name.strip() or len(name) > 150:
        raise ImportFormatError(str(path), "'job' must be a non-empty name of at most 150 chars")
    if _CONTROL.search(name):
        raise ImportFormatError(str(path), "'job' contains control characters")


def check_ledger(path: Path, m: Mapping[str, Any]) -> None:
    """Check the release's budget ledger against ε, the method and ``differential_privacy``.

    Raises
    ------
    ImportFormatError
        Saying which entry or which field does not agree.
    """
    where = str(path)
    method = m["method"]
    if method not in METHODS:
        raise ImportFormatError(where, f"unknown method {method!r}; known: {sorted(METHODS)}")
    params = m["parameters"]
    total = 0.0
    for i, entry in enumerate(m["budget"]):
        if not isinstance(entry, dict) or set(entry) != _LEDGER_KEYS:
            raise ImportFormatError(
                where, f"budget entry {i + 1} is unknown: expected {{'label', 'epsilon'}}"
            )
        if not isinstance(entry["label"], str) or not entry["label"].strip():
            raise ImportFormatError(where, f"budget entry {i + 1} has no label")
        eps_i = entry["epsilon"]
        if not _number(eps_i) or not eps_i > 0:
            raise ImportFormatError(
                where,
                f"budget entry {i + 1} ({entry['label']!r}) spends {eps_i!r}: every spend must "
                "be a finite number > 0",
            )
        total = math.fsum([total, float(eps_i)])
    spent = m.get("epsilon_spent")
    if m["differential_privacy"]:
        try:
            eps = check_epsilon(m.get("epsilon"))
        except PrivacyError as e:
            raise ImportFormatError(where, f"'epsilon': {e}") from e
        if eps < MIN_EPSILON:
            raise ImportFormatError(where, f"'epsilon' {eps:g} is below {MIN_EPSILON:g}")
        if METHODS[method].uses_data:
            if not m["budget"]:
                raise ImportFormatError(
                    where, f"the budget ledger is empty, but the release claims epsilon {eps:g}"
                )
            if not math.isclose(total, eps, rel_tol=_REL_TOL):
                raise ImportFormatError(
                    where, f"the budget ledger sums to {total:g}, not to epsilon {eps:g}"
                )
        elif m["budget"]:
            raise ImportFormatError(where, f"method {method!r} reads no data but has a ledger")
        if not _number(spent) or not math.isclose(float(spent or 0), total, abs_tol=1e-12):
            raise ImportFormatError(
                where, f"'epsilon_spent' {spent!r} differs from the ledger's sum {total:g}"
            )
        if params.get("no_dp", False) is not False:
            raise ImportFormatError(
                where, "the parameters say no_dp, but the manifest claims differential privacy"
            )
        if "epsilon" in params and not (
            _number(params["epsilon"]) and math.isclose(params["epsilon"], eps, rel_tol=_REL_TOL)
        ):
            raise ImportFormatError(
                where, f"the parameters' epsilon {params['epsilon']!r} differs from {eps:g}"
            )
    else:
        if m.get("epsilon") is not None:
            raise ImportFormatError(where, "a share without DP must have 'epsilon': null")
        if m["budget"]:
            raise ImportFormatError(where, "a share without DP must have an empty budget ledger")
        if spent not in (None, 0, 0.0):
            raise ImportFormatError(where, "a share without DP cannot have spent epsilon")
        if params.get("no_dp", True) is not True:
            raise ImportFormatError(
                where, "the manifest says no differential privacy but the parameters disagree"
            )


def first_outside(values: pd.Series, dom: NumericDomain | CategoricalDomain) -> tuple[int, str]:
    """Index of the first value outside ``dom`` (-1 if none) and what it violates."""
    if isinstance(dom, CategoricalDomain):
        bad = (~values.isin(list(dom.values))) | values.isna()
        return (int(np.argmax(bad.to_numpy())) if bad.any() else -1), "declared categories"
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    what = "a finite number"
    with np.errstate(invalid="ignore"):
        if dom.values is not None:
            grid = np.asarray(dom.values, dtype=float)
            near = np.abs(x[:, None] - grid[None, :]) <= 1e-9 * np.maximum(np.abs(grid), 1.0)
            bad |= ~near.any(axis=1)
            what = f"the declared grid {list(dom.values)}"
        elif dom.lower is not None and dom.upper is not None:
            bad |= (x < dom.lower) | (x > dom.upper)
            what = f"the bounds [{dom.lower:g}, {dom.upper:g}]"
        elif dom.log:
            bad |= x <= 0
            what = "positive numbers (log scale)"
        if dom.integer:
            bad |= np.abs(x - np.round(x)) > 1e-9 * np.maximum(np.abs(x), 1.0)
            what += ", integers"
    return (int(np.argmax(bad)) if bad.any() else -1), what


def check_rows_in_domain(path: Path, rows: pd.DataFrame, domain: Domain) -> None:
    """Check every value of ``rows`` against ``domain``, naming the first bad line.

    Lines count as in the file: the header is line 1 (pandas writes no multi-line fields).
    """
    for name in domain.names:
        idx, what = first_outside(rows[name], domain[name])
        if idx >= 0:
            raise ImportFormatError(
                str(path),
                f"value {rows[name].iloc[idx]!r} is outside the share's domain ({what}): the "
                "rows were edited or the manifest does not belong to them",
                line=idx + 2,
                column=name,
            )


def check_digests(mpath: Path, rpath: Path, m: Mapping[str, Any]) -> str:
    """Check ``rows_sha256`` and ``manifest_sha256``; returns the manifest digest."""
    for key in ("rows_sha256", "manifest_sha256"):
        if not isinstance(m.get(key), str) or not re.fullmatch(r"[0-9a-f]{64}", m[key]):
            raise ImportFormatError(
                str(mpath),
                f"no valid {key!r}: the share was written by an older jobcast or edited; ask "
                "its publisher for a new package",
            )
    digest = manifest_digest(m)
    seals = (
        (rpath, file_digest(rpath), "rows_sha256", "rows.csv", "its SHA-256", "the manifest's"),
        (mpath, digest, "manifest_sha256", "manifest.json", "its content", "its"),
    )
    for path, found, key, name, what, whose in seals:
        if found != m[key]:
            raise ImportFormatError(
                str(path),
                f"{name} was changed after the release: {what} does not match {whose} {key}",
            )
    return digest
