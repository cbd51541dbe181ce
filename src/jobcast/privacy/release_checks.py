"""Checks around a release that read no private value: the declaration and the output.

Before the mechanism: the domain file against the job's *schema* (its column names and
attribute kinds, public), so a typo is named with its file and a did-you-mean, and a
grid that would publish dataset sizes is pointed out. After it: the synthetic rows
(post-processing of a DP output, free), so a share whose runtime carries no information
says so instead of being written without a word.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from jobcast.errors import DomainError, InputError
from jobcast.history import AttributeKind, JobSpec
from jobcast.privacy.domain import Domain, NumericDomain

__all__ = [
    "check_declared_columns",
    "grid_size_warnings",
    "one_runtime",
    "refuse_one_runtime",
    "runtime_output_warnings",
    "warn_unbound_resources",
]

logger = logging.getLogger(__name__)

#: A released runtime column with at most this many distinct values carries almost
#: nothing (perfmodel's noisy fit fell back to one value per configuration or less).
FEW_RUNTIMES = 3
#: ... or whose largest value is within this factor of its smallest.
NARROW_SPREAD = 1.01


def _suggest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``name`` most probably meant (case first, then spelling)."""
    for c in candidates:
        if c.casefold() == name.casefold():
            return c
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def column_mismatch(declared: Domain, columns: Sequence[str], *, owner: str) -> list[str]:
    """What is wrong with a declaration's column names against ``columns`` (empty: nothing).

    ``owner`` names whose columns they are in the sentences (``"job 'sort'"``, a file).
    A declared name the owner lacks gets a did-you-mean for a case or spelling slip.
    """
    extra = [n for n in declared.names if n not in columns]
    missing = [c for c in columns if c not in declared]
    parts = []
    if extra:
        hints = [
            f"{n!r} -> {s!r}" for n in extra if (s := _suggest(n, missing or columns)) is not None
        ]
        parts.append(
            f"it declares {extra}, which {owner} does not have"
            + (f" (did you mean {', '.join(hints)}? names are case-sensitive)" if hints else "")
        )
    if missing:
        parts.append(f"it does not declare the column(s) {missing} of {owner}")
    return parts


def check_declared_columns(
    declared: Domain, columns: Sequence[str], *, job: str, source: str | None = None
) -> None:
    """Refuse a declaration whose columns are not exactly the job's (names only).

    Parameters
    ----------
    declared
        The declared domain.
    columns
        The job's columns as a release reads them (its schema: no values).
    job
        The job's name, for the message.
    source
        The domain file, named in the message.

    Raises
    ------
    DomainError
        Naming the file, the declared names the job does not have (with a did-you-mean
        for a case or spelling slip) and the job's columns left undeclared
        (:func:`column_mismatch`).
    """
    parts = column_mismatch(declared, columns, owner=f"job {job!r}")
    if not parts:
        return
    where = f"domain file {source}" if source else "the domain"
    raise DomainError(
        f"{where}: {'; '.join(parts)}. Declare exactly the job's columns {list(columns)} "
        f"(`jobcast domain init --job {job}` writes them)"
    )


def grid_size_warnings(spec: JobSpec, declared: Domain, *, source: str | None = None) -> list[str]:
    """Say when a dataset-size column is declared as a grid: its values are published."""
    out = []
    for name, dom in declared.columns:
        if name not in spec.attribute_names or not isinstance(dom, NumericDomain):
            continue
        if spec.attribute(name).kind is AttributeKind.DATASET and dom.values is not None:
            out.append(
                f"{source or 'the domain'}: column {name!r} is a dataset size and is declared "
                'as a grid ("values"): every grid value is published as is, so the share '
                "tells the sizes you ran. Unless they are public, declare coarse bounds "
                '("lower", "upper", "log": true) instead; perfmodel locates the rows inside '
                "them with budget and keeps the sizes secret"
            )
    for text in out:
        logger.warning(text)
    return out


def one_runtime(rows: pd.DataFrame, runtime: str) -> float | None:
    """The one runtime every row of a share holds, or None when they differ.

    Such a share says nothing about how the runtime depends on the configuration:
    merged into a history it pulls every prediction to that value. Reads only the
    share's rows (public: post-processing).
    """
    t = _finite_runtimes(rows, runtime)
    if t.size < 2 or _distinct(t) > 1:
        return None
    return float(t[0])


def _finite_runtimes(rows: pd.DataFrame, runtime: str) -> np.ndarray:
    """The finite values of the share's runtime column (none without the column)."""
    if runtime not in rows.columns:
        return np.zeros(0)
    t = pd.to_numeric(rows[runtime], errors="coerce").to_numpy(dtype=float)
    return t[np.isfinite(t)]


def _distinct(t: np.ndarray) -> int:
    """Distinct runtimes, to the microsecond."""
    return int(np.unique(np.round(t, 6)).size)


def refuse_one_runtime(rows: pd.DataFrame, runtime: str, *, where: str) -> None:
    """Refuse a share whose rows hold one runtime (see :func:`one_runtime`).

    Raises
    ------
    InputError
        Naming ``where`` (the package), the value and what to do.
    """
    value = one_runtime(rows, runtime)
    if value is not None:
        raise InputError(
            f"{where}: its runtime column {runtime!r} holds one value ({value:.4g}) in "
            "every row, so it says nothing about how the runtime depends on the "
            "configuration, and merged into a history it would pull every prediction to "
            "that value. Not taken: ask its publisher for another release (with a larger "
            "ε or declared bounds)"
        )


def runtime_output_warnings(rows: pd.DataFrame, runtime: str, *, job: str) -> list[str]:
    """Say when the synthetic runtimes (a DP output: checking them is free) carry no signal.

    Reads only the released rows; the warning is about them, not about the private data.
    """
    if len(rows) < 2 * FEW_RUNTIMES:
        return []
    t = _finite_runtimes(rows, runtime)
    if t.size == 0:
        return []
    distinct = _distinct(t)
    lo, hi = float(t.min()), float(t.max())
    narrow = lo > 0 and hi / lo <= NARROW_SPREAD
    if distinct > FEW_RUNTIMES and not narrow:
        return []
    what = (
        f"one value ({lo:.4g}) in every row"
        if distinct == 1
        else f"only {distinct} distinct values ({lo:.4g} to {hi:.4g})"
        if distinct <= FEW_RUNTIMES
        else f"values within {100 * (hi / lo - 1):.2g} % of each other ({lo:.4g} to {hi:.4g})"
    )
    text = (
        f"the released runtime column {runtime!r} of job {job!r} holds {what}: it carries "
        "(almost) no information about how the runtime depends on the configuration, so "
        "models trained on this share will predict about one runtime for everything. The "
        "ε is spent all the same. This usually means the budget was too small for the "
        "rows (few executions), or few rows fitted the declared domain. Before releasing "
        "again: check the runtime unit (seconds: a runtime in minutes is below a 10 s "
        "lower bound, and a release uses no row beyond a declared bound), declare bounds "
        "wide enough for every run you could have made, or spend a larger ε"
    )
    logger.warning(text)
    return [text]


def warn_unbound_resources(spec: JobSpec) -> None:
    """Say when cluster resources will be drawn like any column (rows may not hold together)."""
    if spec.machine_type_column is None:
        return
    resources = [a.name for a in spec.attributes if a.kind is AttributeKind.RESOURCE and a.numeric]
    if resources:
        logger.warning(
            "job %r: %s are synthesized independently of the machine type and the scale-out, "
            "so a row may not hold together (12 machines with 16 slots) and `configure` will "
            'not derive them; declare them in the domain file\'s "machines" entry (per '
            "machine type, see jobcast.privacy.consistency)",
            spec.name,
            ", ".join(resources),
        )
