"""Training a job's runtime model from the history, shared by prediction and configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.history import HistoryRepository, JobSpec
from jobcast.models import MachineAttribute, machine_attributes, make_model
from jobcast.models.training_data import training_set

__all__ = [
    "MAX_QUERIES",
    "FittedJob",
    "ModelAnswer",
    "check_machine_types",
    "check_scale_outs",
    "fit_job",
    "fitted_or_fit",
    "range_warnings",
]

#: Most scale-outs (or query rows) one prediction or configuration call takes.
MAX_QUERIES = 10_000


@dataclass(frozen=True, kw_only=True)
class ModelAnswer:
    """What every answer of a job's fitted runtime model says besides the answer itself.

    Attributes
    ----------
    model
        The model asked for (``auto`` included).
    chosen
        The model ``auto`` chose; None for a named model.
    warnings
        Why an answer may be unreliable (a query outside the history's range) or what
        was overridden (a given value of a machine-fixed attribute).
    """

    model: str = "auto"
    chosen: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FittedJob:
    """A job's runtime model fitted on its history.

    Attributes
    ----------
    spec
        The job.
    estimator
        The fitted model.
    model
        The name it was made from (``auto`` included).
    X, y
        Its training features and runtimes (seconds).
    machine_values
        Per machine type, the attributes it fixes (see
        :func:`jobcast.models.machine_attributes`); empty without machine types.
    """

    spec: JobSpec
    estimator: Any
    model: str
    X: pd.DataFrame
    y: np.ndarray
    machine_values: Mapping[str, Mapping[str, MachineAttribute]]

    @property
    def chosen(self) -> str | None:
        """The model ``auto`` chose (None for a named model)."""
        chosen = getattr(self.estimator, "chosen_", None)
        return None if chosen is None else str(chosen)

    @property
    def machine_types(self) -> list[str]:
        """The machine types of the history (empty when it records none)."""
        if "machine_type" not in self.X.columns:
            return []
        return sorted(self.X["machine_type"].astype(str).unique())

    @property
    def derived(self) -> set[str]:
        """Attributes derived from the machine type and the scale-out."""
        return {k for values in self.machine_values.values() for k in values}


def fit_job(
    repo: HistoryRepository,
    job: str,
    *,
    model: str = "auto",
    include_shared: bool = True,
    random_state: int | None = 0,
) -> FittedJob:
    """Fit ``model`` on the completed executions of ``job``.

    Parameters
    ----------
    repo, job
        The history and the job.
    model
        A name of :data:`jobcast.models.MODEL_NAMES`.
    include_shared
        Train on collaborators' shared executions too.
    random_state
        Seed of the model and of its cross-validation.

    Raises
    ------
    jobcast.errors.UnknownJobError
        When the history has no such job.
    jobcast.errors.NotEnoughDataError
        When it has no completed execution with a scale-out.
    """
    spec = repo.job(job)
    executions = repo.executions(job, include_shared=include_shared)
    X, y = training_set(spec, executions)
    estimator = make_model(model, random_state=random_state).fit(X, y)
    values = machine_attributes(X) if "machine_type" in X.columns else {}
    return FittedJob(spec, estimator, model, X, y, values)


def fitted_or_fit(
    repo: HistoryRepository,
    job: str,
    fitted: FittedJob | None,
    *,
    model: str,
    include_shared: bool,
    random_state: int | None,
) -> FittedJob:
    """``fitted`` when it is a model of ``job`` made from ``model``, else a new :func:`fit_job`.

    A caller that answers several questions on one history version (the service's
    workers) fits once and passes the result; it must not reuse it after the job's
    history changed.

    Raises
    ------
    jobcast.errors.InputError
        When ``fitted`` is of another job or was made from another model name.
    """
    if fitted is None:
        return fit_job(
            repo, job, model=model, include_shared=include_shared, random_state=random_state
        )
    if fitted.spec.name != job or fitted.model != model:
        raise InputError(
            f"the fitted model given is {fitted.model!r} of job {fitted.spec.name!r}, "
            f"not {model!r} of {job!r}: pass fitted=None to fit one"
        )
    return fitted


def check_machine_types(fitted: FittedJob, given: Iterable[str] | None) -> list[str]:
    """The machine types to use: ``given`` (each known to the history) or the history's.

    Raises
    ------
    jobcast.errors.InputError
        On a machine type the history does not hold, or any for a job without them.
    """
    known = fitted.machine_types
    chosen = [str(m) for m in given] if given is not None else []
    if chosen and not known:
        raise InputError(
            f"job {fitted.spec.name!r} records no machine types; leave out --machine-type "
            f"(got {', '.join(map(repr, chosen))})"
        )
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise InputError(
            f"unknown machine type {unknown[0]!r} for job {fitted.spec.name!r}: its history "
            f"holds {', '.join(known)}; the model cannot predict a machine type it never saw"
        )
    return chosen or known


def check_scale_outs(values: Sequence[Any], *, option: str = "--scale-out") -> list[int]:
    """Scale-outs as positive integers, at most :data:`MAX_QUERIES` of them.

    Raises
    ------
    jobcast.errors.InputError
        On an empty list, a value that is not a positive whole number, or too many.
    """
    if len(values) > MAX_QUERIES:
        raise InputError(
            f"{option}: {len(values):,} scale-outs is more than the {MAX_QUERIES:,} allowed; "
            "give fewer (a step, e.g. 10,20,...,1000)"
        )
    out = []
    for v in values:
        try:
            ok = float(v) > 0 and float(v) == int(v)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(f"{option}: scale-outs are positive whole numbers, got {v!r}")
        out.append(int(v))
    if not out:
        raise InputError(f"{option}: give at least one scale-out")
    return out


def _number(v: float) -> str:
    return f"{v:.0f}" if v.is_integer() and abs(v) < 1e18 else f"{v:g}"


def range_warnings(X: pd.DataFrame, query: pd.DataFrame, *, skip: Iterable[str] = ()) -> list[str]:
    """One warning per numeric feature whose query values lie outside the history's range.

    Parameters
    ----------
    X
        The training features.
    query
        The query rows.
    skip
        Columns not to check (those derived from others, such as machine-fixed ones).
    """
    out = []
    left_out = set(skip)
    for column in X.columns:
        if column in left_out or column not in query.columns:
            continue
        if not pd.api.types.is_numeric_dtype(X[column]):
            continue
        values = pd.to_numeric(query[column], errors="coerce")
        lo, hi = float(X[column].min()), float(X[column].max())
        outside = sorted({float(v) for v in values[(values < lo) | (values > hi)]})
        if outside:
            shown = ", ".join(_number(v) for v in outside[:5]) + (
                ", ..." if len(outside) > 5 else ""
            )
            out.append(
                f"{column} = {shown} lies outside the history's range {_number(lo)} to "
                f"{_number(hi)}: the prediction extrapolates and may be far off"
            )
    return out
