"""What a user declares public about a c3o-paper job: the grid, bounds-only and no-domain protocols.

The privacy experiments run under one of three declarations (``--domains``):

``bounds`` (the headline)
    What a team knows without publishing its business facts: the scale-outs it may
    rent (a grid; :data:`SCALE_OUTS`), plausible runtime bounds of a batch Spark job
    (10 s .. 4 h, log scale) and, for every other numeric column, only a coarse range
    from one decade below its smallest to one decade above its largest value, rounded
    outwards to whole powers of ten (log scale when every value is positive, else
    linear; :func:`coarse_range`).  Dataset sizes and parameters stay secret: a
    synthesizer must locate them inside that range with budget.  Categorical columns
    would be declared as their public options (c3o-paper has none).
``grid``
    The C3O experiment grids written out literally (:data:`GRIDS`): every declared
    grid value is published as is, so the dataset sizes of the job are public.
``none``
    No domain file, what ``jobcast share`` does without ``--domain``: every column
    numeric with bounds bought from the budget, the scale-out integer.

The coarse range of ``bounds`` plays the user's public knowledge ("inputs between 1 GB
and 1 TB") and is computed from the file here only to simulate that knowledge.  It is
published as is in every share (differential privacy does not cover it) and reveals
exactly the order of magnitude (the power-of-ten decade) of the column's smallest and
largest value, which this protocol treats as public; nothing finer (no leading digit).
A real user declares such a range from public knowledge, never from their values.

Other jobs of the same kind (:func:`load_job`): a CSV ``JOB.csv`` in the data folder
with the scale-out first, then the feature columns and the runtime last (as the
c3o-paper files), and a domain file (``--domain FILE``, the format of ``jobcast share
--domain``) declaring its columns.  jobcast has public domains only for the five
c3o-paper jobs with their own columns; for any other, the file's declaration is used
under every ``--domains`` protocol (it *is* what the user declares public).

Scale-outs: ``2, 4, ..., 12``; ``4, ..., 12`` for kmeans and linearregression, whose
scale-out 2 runs the paper drops as memory-bound before any analysis (a public
protocol choice, so those rows are never shared and the domain does not offer them).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import DomainError, InputError
from jobcast.privacy import Domain, NumericDomain
from jobcast.privacy.consistency import split_declaration
from jobcast.privacy.domain import read_domain_json
from jobcast.privacy.release_checks import column_mismatch

__all__ = [
    "C3O_PAPER_JOBS",
    "DEFAULT_DATA_DIR",
    "DOMAIN_MODES",
    "GRIDS",
    "RUNTIME",
    "SCALE_OUT",
    "SCALE_OUTS",
    "c3o_paper_domain",
    "coarse_range",
    "load_c3o_paper",
    "load_job",
]

C3O_PAPER_JOBS: tuple[str, ...] = ("grep", "kmeans", "linearregression", "pagerank", "sort")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "c3o-paper"
RUNTIME = "gross_runtime"
SCALE_OUT = "instance_count"
DOMAIN_MODES: tuple[str, ...] = ("bounds", "grid", "none")
SCALE_OUTS = (2, 4, 6, 8, 10, 12)
RUNTIME_BOUNDS = (10.0, 4 * 3600.0)
_FILTERED = ("kmeans", "linearregression")  # the paper drops instance_count <= 2

#: The C3O experiment grids (Will et al., IC2E 2021): column -> (values, log, integer).
GRIDS: dict[str, dict[str, tuple[tuple[float, ...], bool, bool]]] = {
    "grep": {
        "data_size_MB": ((10100, 12625, 15150, 17675, 20200), True, True),
        "p_occurrence": ((0.0, 0.25, 0.5, 0.75, 1.0), False, False),
    },
    "kmeans": {
        "observations": ((1e8, 1.25e8, 1.5e8, 1.75e8, 2e8), True, True),
        "features": ((5, 10, 15), True, True),
        "k": ((3, 5, 7, 9), True, True),
    },
    "linearregression": {
        "observations": ((1e8, 1.5e8, 2e8, 2.5e8, 3e8), True, True),
        "features": ((5, 10, 15), True, True),
        "iterations": ((1, 25, 50, 100), True, True),
    },
    "pagerank": {
        "links": ((1e7, 2e7, 3e7), True, True),
        "pages": ((1e6, 2e6, 3e6), True, True),
        "convergence_criterion": ((1e-4, 5e-4, 1e-3, 5e-3, 1e-2), True, False),
    },
    "sort": {
        "data_size_MB": ((9630, 11556, 13482, 15408, 17334, 19260), True, True),
    },
}


def _decade(x: float, *, up: bool) -> float:
    """The power of ten at or below (``up=False``) or at or above (``up=True``) ``x > 0``."""
    e = math.floor(math.log10(x))
    # log10 may be off by one ulp near a power of ten: settle the exponent exactly
    while 10.0**e > x:
        e -= 1
    while 10.0 ** (e + 1) <= x:
        e += 1
    if up and 10.0**e < x:
        e += 1
    return 10.0**e


def coarse_range(x: np.ndarray) -> tuple[float, float, bool]:
    """A user's coarse public range of a column: a decade beyond its values, in powers of ten.

    Returns ``(lower, upper, log)``.  On a log scale when every value is positive:
    ``lower = 10**floor(log10(min / 10))`` and ``upper = 10**ceil(log10(max * 10))``, so
    the range reveals the decade of the smallest value (``min`` in
    ``[10 lower, 100 lower)``) and of the largest (``max`` in ``(upper / 100, upper / 10]``)
    and nothing finer: columns whose minima share a decade and whose maxima share a
    decade get the same range.  Otherwise a linear range reaching the power of ten at or
    above ten times the largest magnitude on each side that holds values (``[0, 10]``
    for a column of zeros and values up to 1); it reveals that magnitude's decade and
    which signs occur.

    Examples
    --------
    >>> coarse_range(np.array([9630.0, 19260.0]))
    (100.0, 1000000.0, True)
    >>> coarse_range(np.array([0.0, 0.25, 1.0]))
    (0.0, 10.0, False)
    """
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo > 0:
        return _decade(lo / 10.0, up=False), _decade(hi * 10.0, up=True), True
    big = _decade(10.0 * max(abs(lo), abs(hi), 1e-12), up=True)
    lower = -big if lo < 0 else 0.0
    upper = big if hi > 0 else 0.0
    if upper <= lower:
        upper = lower + 1.0
    return lower, upper, False


def _scale_outs(job: str) -> tuple[float, ...]:
    return tuple(float(v) for v in SCALE_OUTS if job not in _FILTERED or v > 2)


def c3o_paper_domain(job: str, domains: str = "grid", frame: pd.DataFrame | None = None) -> Domain:
    """The public domain declared for a c3o-paper job under one protocol (module docstring).

    Parameters
    ----------
    job
        A c3o-paper job.
    domains
        ``"bounds"``, ``"grid"`` or ``"none"``.
    frame
        The job's rows, needed by ``"bounds"`` to simulate the user's coarse knowledge.

    Raises
    ------
    InputError
        For an unknown job or protocol, or ``"bounds"`` without ``frame``.
    """
    if job not in GRIDS:
        raise InputError(f"unknown c3o-paper job {job!r}; choose one of {list(C3O_PAPER_JOBS)}")
    if domains not in DOMAIN_MODES:
        raise InputError(f"--domains must be one of {list(DOMAIN_MODES)}, got {domains!r}")
    names = [SCALE_OUT, *GRIDS[job], RUNTIME]
    if domains == "none":
        # What jobcast share writes without --domain: every column's bounds bought.
        return Domain(
            tuple(
                (n, NumericDomain(log=True, integer=n == SCALE_OUT))
                for n in names
            )
        )
    cols: list[tuple[str, Any]] = [
        (SCALE_OUT, NumericDomain(values=_scale_outs(job), log=True, integer=True))
    ]
    for name, (values, log, integer) in GRIDS[job].items():
        if domains == "grid":
            cols.append((name, NumericDomain(values=values, log=log, integer=integer)))
            continue
        if frame is None:
            raise InputError("bounds-only domains need the job's rows to simulate the user")
        lower, upper, is_log = coarse_range(frame[name].to_numpy(dtype=float))
        cols.append(
            (name, NumericDomain(lower=lower, upper=upper, log=is_log, integer=integer, bins=20))
        )
    lo, hi = RUNTIME_BOUNDS
    cols.append((RUNTIME, NumericDomain(lower=lo, upper=hi, log=True, bins=20)))
    return Domain(tuple(cols))


def load_c3o_paper(job: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Read a c3o-paper job with the paper's filter (kmeans, linearregression: scale-out > 2).

    Columns are put in the declared domain's order.
    """
    d = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    path = d / f"{job}.csv"
    if not path.is_file():
        raise InputError(f"{path} not found: is ../shared/data/c3o-paper beside the project?")
    frame = pd.read_csv(path)
    if job in _FILTERED:
        frame = frame[frame[SCALE_OUT] > 2]
    return frame[[SCALE_OUT, *GRIDS[job], RUNTIME]].reset_index(drop=True)


def _builtin_columns(job: str) -> list[str]:
    return [SCALE_OUT, *GRIDS[job], RUNTIME]


def _read_declaration(domain_file: Path, csv: Path, columns: list[str]) -> Domain:
    try:
        data = read_domain_json(domain_file)
    except DomainError as e:
        raise InputError(str(e)) from e
    try:
        rest, facts = split_declaration(data)
        declared = Domain.from_dict(rest)
    except DomainError as e:
        raise InputError(f"{domain_file}: {e}") from e
    if facts is not None:
        raise InputError(
            f"{domain_file}: a \"machines\" entry is not used by `evaluate privacy` (its "
            "files have no machine type); remove it"
        )
    parts = column_mismatch(declared, columns, owner=str(csv))
    if parts:
        raise InputError(
            f"{domain_file} does not declare the columns of {csv}: {'; '.join(parts)}. "
            f"Declare exactly {columns}"
        )
    return declared


def load_job(
    job: str, data_dir: str | Path | None = None, domain_file: str | Path | None = None
) -> tuple[pd.DataFrame, Domain | None]:
    """A job's rows for the privacy experiments and its declared domain.

    A c3o-paper job whose file has its usual columns gets jobcast's public domains
    (``None`` is returned: :func:`c3o_paper_domain` builds them per protocol). Any
    other ``JOB.csv`` (the scale-out first, the runtime last, every column numeric)
    needs ``domain_file``; its columns are renamed to :data:`SCALE_OUT` and
    :data:`RUNTIME` (first and last) in both the rows and the returned domain, which
    is used under every protocol.

    Raises
    ------
    InputError
        When the file is missing or not of this kind, or no domain is known or given
        (naming the file, its columns and what to pass).
    """
    d = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    path = d / f"{job}.csv"
    if not path.is_file():
        raise InputError(
            f"{path} not found: `evaluate privacy` reads JOB.csv from --data-dir "
            "(default ../shared/data/c3o-paper beside the project)"
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot parse CSV: {e}") from e
    columns = [str(c) for c in frame.columns]
    if job in GRIDS and set(_builtin_columns(job)) <= set(columns):
        return load_c3o_paper(job, data_dir), None
    if domain_file is None:
        known = (
            f"its columns {columns} are not those of the c3o-paper job {job!r} "
            f"({_builtin_columns(job)}), for which jobcast has built-in public domains"
            if job in GRIDS
            else f"jobcast has built-in public domains only for the c3o-paper jobs "
            f"{list(C3O_PAPER_JOBS)}, not for {job!r}"
        )
        raise InputError(
            f"{path}: {known}. Give --domain FILE declaring its columns {columns} (the format "
            "of `jobcast share --domain`; the scale-out first, the runtime last)"
        )
    if len(columns) < 2:
        raise InputError(f"{path}: needs a scale-out, features and the runtime last; has {columns}")
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise InputError(
            f"{path}: columns {bad} are not numeric; `evaluate privacy` takes files like the "
            "c3o-paper ones (numbers only, the scale-out first, the runtime last)"
        )
    declared = _read_declaration(Path(domain_file), path, columns)
    rename = {columns[0]: SCALE_OUT, columns[-1]: RUNTIME}
    clash = [c for c in columns[1:-1] if c in (SCALE_OUT, RUNTIME)]
    if clash:
        raise InputError(
            f"{path}: column {clash[0]!r} must be the first (scale-out) or the last (runtime)"
        )
    domain = Domain(tuple((rename.get(n, n), dom) for n, dom in declared.columns))
    return frame.rename(columns=rename), domain
