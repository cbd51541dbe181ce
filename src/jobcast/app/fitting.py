"""Training a job's runtime model from the history, shared by prediction and configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.history import AttributeKind, HistoryRepository, JobSpec
from jobcast.history.values import MAX_SCALE_OUT
from jobcast.models import MachineAttribute, machine_attributes, make_model
from jobcast.models.machines import machine_row
from jobcast.models.selection import SCALE_OUT_ONLY, TREE_MODELS
from jobcast.models.training_data import numeric_attributes, query_frame, training_set

__all__ = [
    "MAX_QUERIES",
    "FittedJob",
    "ModelAnswer",
    "check_machine_types",
    "check_scale_outs",
    "fit_job",
    "fitted_or_fit",
    "history_warnings",
    "query_warnings",
    "range_warnings",
    "settings_query",
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
    notes
        What training left out (executions without a value of an attribute), said
        with every answer.
    """

    spec: JobSpec
    estimator: Any
    model: str
    X: pd.DataFrame
    y: np.ndarray
    machine_values: Mapping[str, Mapping[str, MachineAttribute]]
    notes: tuple[str, ...] = ()

    @property
    def chosen(self) -> str | None:
        """The model ``auto`` chose (None for a named model)."""
        chosen = getattr(self.estimator, "chosen_", None)
        return None if chosen is None else str(chosen)

    @property
    def answering(self) -> str:
        """The model that answers: the one named, or the one ``auto`` chose.

        (BELL's own inner choice is not it: a ``bell`` answers as BELL.)
        """
        if self.model != "auto":
            return self.model
        return self.chosen or self.model

    @property
    def machine_types(self) -> list[str]:
        """The machine types of the history (empty when it records none)."""
        if "machine_type" not in self.X.columns:
            return []
        return sorted(self.X["machine_type"].astype(str).unique())

    @property
    def single_scale_out(self) -> int | None:
        """The history's only scale-out, or None when it holds several."""
        values = self.X["scale_out"].unique()
        return int(values[0]) if len(values) == 1 else None

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
        When it has no completed execution with a scale-out and a value of every
        context attribute (executions without one are left out, and said so in
        :attr:`FittedJob.notes`).
    """
    spec = repo.job(job)
    executions = repo.executions(job, include_shared=include_shared)
    data = training_set(spec, executions)
    X, y = data.X, data.y
    estimator = make_model(model, random_state=random_state).fit(X, y)
    resources = [a.name for a in spec.attributes if a.kind is AttributeKind.RESOURCE]
    values = machine_attributes(X, totals=resources) if "machine_type" in X.columns else {}
    notes = [*data.warnings(spec.name), *_totals_notes(X, values)]
    return FittedJob(spec, estimator, model, X, y, values, tuple(notes))


def _totals_notes(
    X: pd.DataFrame, values: Mapping[str, Mapping[str, MachineAttribute]]
) -> list[str]:
    """Say that a single-scale-out history's machine attributes were taken as cluster totals."""
    scale_outs = X["scale_out"].unique()
    totals = sorted({k for v in values.values() for k, a in v.items() if a.per_machine})
    if len(scale_outs) != 1 or not totals:
        return []
    only = int(scale_outs[0])
    per = "; ".join(
        f"{mt}: " + ", ".join(f"{k} {_number(v[k].value)}" for k in totals if k in v)
        for mt, v in values.items()
    )
    return [
        f"every execution ran on {only} machine{'s' if only != 1 else ''}, so {', '.join(totals)} "
        f"are taken as cluster totals and scaled with the scale-out (per machine: {per})"
    ]


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
    """Scale-outs as whole numbers in 1 .. ``MAX_SCALE_OUT``, at most :data:`MAX_QUERIES` of them.

    ``MAX_SCALE_OUT`` (100,000 machines) is the largest scale-out imports accept.

    Raises
    ------
    jobcast.errors.InputError
        On an empty list, a value that is not a whole number in that range, or too many.
    """
    if len(values) > MAX_QUERIES:
        raise InputError(
            f"{option}: {len(values):,} scale-outs is more than the {MAX_QUERIES:,} allowed; "
            "give fewer (a step, e.g. 10,20,...,1000)"
        )
    out = []
    for v in values:
        try:
            ok = 0 < float(v) <= MAX_SCALE_OUT and float(v) == int(v)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise InputError(
                f"{option}: scale-outs are positive whole numbers of machines, at most "
                f"{MAX_SCALE_OUT:,} (as imports take them); got {v!r}"
            )
        out.append(int(v))
    if not out:
        raise InputError(f"{option}: give at least one scale-out")
    return out


def settings_query(
    fitted: FittedJob,
    settings: Mapping[str, Any],
    scale_outs: Sequence[int],
    machine_types: Sequence[str],
) -> tuple[pd.DataFrame, list[str]]:
    """Query rows of ``settings`` at every scale-out on every machine type, and warnings.

    Attributes the machine type fixes are derived from it and the scale-out; given
    values of them are replaced (with a warning). Prediction and configuration both
    build their queries here, so they check and warn alike.

    Parameters
    ----------
    fitted
        The job's fitted model.
    settings
        Context attribute values.
    scale_outs
        Checked scale-outs (:func:`check_scale_outs`).
    machine_types
        Checked machine types (:func:`check_machine_types`); empty without them.

    Returns
    -------
    pandas.DataFrame, list of str
        One row per machine type and scale-out, in feature order; the warnings about
        replaced values and values outside the history (:func:`range_warnings`).

    Raises
    ------
    jobcast.errors.InputError
        On a missing or unknown attribute, or a numeric one that is not a finite number
        within ±1e15.
    """
    warnings = []
    given = sorted(set(settings) & fitted.derived)
    if given:
        warnings.append(
            f"{', '.join(given)} follow(s) from the machine type and the scale-out; the given "
            "value(s) are replaced by the derived ones"
        )
    context = {k: v for k, v in settings.items() if k not in fitted.derived}
    columns = list(fitted.X.columns)
    frames = []
    types: list[str | None] = list(machine_types) or [None]
    for mt in types:
        values = fitted.machine_values.get(mt, {}) if mt is not None else {}
        frame = query_frame(
            fitted.spec,
            {**dict.fromkeys(values, 0.0), **context},
            scale_outs,
            machine_type=mt,
            columns=columns,
            derived=fitted.derived,
            numeric=numeric_attributes(fitted.X),
        )
        for k in values:
            frame[k] = [machine_row(values, s)[k] for s in scale_outs]
        frames.append(frame)
    query = pd.concat(frames, ignore_index=True)
    return query, [*history_warnings(fitted), *warnings, *query_warnings(fitted, query)]


def query_warnings(fitted: FittedJob, query: pd.DataFrame) -> list[str]:
    """Why the answers to ``query`` may be far off: what the history does not cover.

    A history of a single scale-out gets one warning of its own (when other
    scale-outs are asked for) instead of a range warning: no model can tell
    scale-outs apart from it. Then :func:`range_warnings` of the other features.
    """
    only = fitted.single_scale_out
    skip = set(fitted.derived)
    out = []
    if only is not None:
        skip.add("scale_out")
        others = sorted({int(m) for m in query["scale_out"]} - {only})
        if others:
            out.append(
                f"every execution of job {fitted.spec.name!r} ran on {only} machine"
                f"{'s' if only != 1 else ''}: the model cannot tell scale-outs apart, so its "
                f"answers for scale-out {_listing(others)} are guesses (often the same "
                f"runtime as on {only}); import or run executions on other scale-outs"
            )
    return out + _model_warnings(fitted, query) + range_warnings(fitted.X, query, skip=skip)


def _model_warnings(fitted: FittedJob, query: pd.DataFrame) -> list[str]:
    """What the model itself cannot see: context attributes, or scale-outs beyond the seen."""
    name = fitted.answering
    out = []
    context = [
        str(c) for c in fitted.X.columns if c not in ("scale_out", "machine_type", *fitted.derived)
    ]
    if name in SCALE_OUT_ONLY and context:
        out.append(
            f"the model ({name}) predicts from the scale-out alone: it ignores "
            f"{_listing(context)}, so its answer is the same whatever they are "
            "(--model auto or loglinear use them)"
        )
    if name in TREE_MODELS and fitted.single_scale_out is None:
        lo, hi = int(fitted.X["scale_out"].min()), int(fitted.X["scale_out"].max())
        asked = sorted({int(m) for m in query["scale_out"] if not lo <= int(m) <= hi})
        if asked:
            out.append(
                f"the model ({name}) is flat outside the history's scale-outs {lo} to {hi}: "
                f"its answers for scale-out {_listing(asked)} repeat the nearest seen one "
                "(--model loglinear or --model ernest extrapolate)"
            )
    return out


def history_warnings(fitted: FittedJob) -> list[str]:
    """Why the history itself makes every answer doubtful: left-out runs, all runtimes the same.

    First what training left out (:attr:`FittedJob.notes`). A history whose runtimes
    do not vary (a synthetic share whose runtime column collapsed to one value, say)
    fits any model exactly: its predictions repeat that value and its held-out
    errors, hence any bound, are zero.
    """
    notes = list(fitted.notes)
    y = np.asarray(fitted.y, dtype=float)
    if y.size < 2 or np.ptp(y) > 1e-9 * max(float(np.abs(y).max()), 1.0):
        return notes
    return notes + [
        f"all {y.size} executions of job {fitted.spec.name!r} have the same runtime "
        f"({_number(float(y[0]))} s): predictions repeat it and bounds are no wider (a "
        "synthetic share whose runtimes collapsed?)"
    ]


def _number(v: float) -> str:
    return f"{v:.0f}" if v.is_integer() and abs(v) < 1e18 else f"{v:g}"


def _listing(values: Sequence[Any], limit: int = 5) -> str:
    return ", ".join(str(v) for v in values[:limit]) + (", ..." if len(values) > limit else "")


def range_warnings(X: pd.DataFrame, query: pd.DataFrame, *, skip: Iterable[str] = ()) -> list[str]:
    """One warning per feature whose query values the history does not cover.

    A numeric feature warns of values outside the history's range; a text one (the
    machine type aside: an unknown one is refused) of values the history never holds,
    which the models cannot tell apart from one another.

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
    left_out = set(skip) | {"machine_type"}
    for column in X.columns:
        if column in left_out or column not in query.columns:
            continue
        if not pd.api.types.is_numeric_dtype(X[column]):
            seen = set(X[column].astype(str))
            unseen = sorted(set(query[column].astype(str)) - seen)
            if unseen:
                out.append(
                    f"{column} = {_listing([repr(v) for v in unseen])} never occurs in the "
                    f"history (it holds {_listing([repr(v) for v in sorted(seen)])}): the "
                    "model knows nothing of it and the prediction may be far off"
                )
            continue
        values = pd.to_numeric(query[column], errors="coerce")
        lo, hi = float(X[column].min()), float(X[column].max())
        outside = sorted({float(v) for v in values[(values < lo) | (values > hi)]})
        if outside:
            out.append(
                f"{column} = {_listing([_number(v) for v in outside])} lies outside the "
                f"history's range {_number(lo)} to {_number(hi)}: the prediction "
                "extrapolates and may be far off"
            )
    return out
