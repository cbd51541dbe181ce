"""Prediction and configuration answers of the API, as plain JSON records."""

from __future__ import annotations

import dataclasses
import importlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from jobcast.errors import InputError, JobcastError
from jobcast.history import HistoryRepository
from jobcast.service.schemas import ConfigureRequest, PredictRequest

__all__ = ["REQUESTS", "answer", "api_wording", "eta_record", "jsonable"]

#: ``fit(model, include_shared)``: a job's fitted runtime model
#: (:class:`~jobcast.app.fitting.FittedJob`).
Fit = Callable[[str, bool], Any]

#: The request body of each kind of answer.
REQUESTS: dict[str, type[BaseModel]] = {"predict": PredictRequest, "configure": ConfigureRequest}


def jsonable(obj: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN and infinities as null, times ISO."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
        return jsonable(obj.to_dict(orient="records"))
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


_OPTION = re.compile(r"--[a-z][a-z-]*(?![a-z-])")

# what the use cases' messages say in the command line's words, in the request's
_PHRASES = (
    (" (--input FILE.csv)", ""),
    ("--set NAME=VALUE", 'set: {"NAME": VALUE}'),
)
# (pattern, replacement): phrases with a part of their own kept (``\1``)
_PATTERNS = (
    # a machine type without a price (models/pricing.py): the CLI's prices are a file
    (
        re.compile(r"(?:a|the) JSON price file(?: \(--prices\))?,? like (\{.*\})"),
        'the field "prices" of the request, like "prices": \\1',
    ),
    (re.compile(r"\bthe price file\b"), 'the field "prices" of the request'),
)


def api_wording(message: str, fields: Mapping[str, str]) -> str:
    """``message`` naming the request's JSON fields instead of the command-line options.

    The use cases are the command line's too, and their messages say ``--set`` or
    ``--machine-type``; ``fields`` maps each option to its field of the request body.
    """
    for cli, api in _PHRASES:
        message = message.replace(cli, api)
    for pattern, replacement in _PATTERNS:
        message = pattern.sub(replacement, message)
    return _OPTION.sub(lambda m: fields.get(m.group(0), m.group(0)), message)


def eta_record(eta: Any, deadline_s: float | None) -> dict[str, Any]:
    """An :class:`jobcast.app.progress.Eta` as the API's JSON object, with its deadline."""
    out: dict[str, Any] = jsonable(eta)
    out["deadline_s"] = deadline_s
    return out


@dataclasses.dataclass(frozen=True)
class _UseCase:
    """An ``app`` use case answering a request: its keyword arguments and answer fields."""

    module: str
    function: str
    # keyword argument of the use case -> field of the request body
    arguments: tuple[tuple[str, str], ...]
    # attributes of the use case's result that make the answer; None: the result's
    # own JSON (its ``to_dict()``, what the command line's --json prints)
    fields: tuple[str, ...] | None
    # command-line option -> field of the request body, for the messages
    options: tuple[tuple[str, str], ...]
    # checks and rewrites the use case's keyword arguments (the job's spec at hand)
    prepare: Callable[[HistoryRepository, str, dict[str, Any]], dict[str, Any]] | None = None

    def __call__(
        self, repo: HistoryRepository, job: str, body: BaseModel, fit: Fit | None = None
    ) -> dict[str, Any]:
        run = getattr(importlib.import_module(self.module), self.function)
        kwargs = {arg: getattr(body, f) for arg, f in self.arguments}
        options = dict(self.options)
        try:
            if self.prepare is not None:
                kwargs = self.prepare(repo, job, kwargs)
            if fit is not None:
                kwargs["fitted"] = fit(kwargs["model"], kwargs["include_shared"])
            result = run(repo, job, **kwargs)
        except JobcastError as e:
            e.args = (api_wording(str(e), options),)
            raise
        if self.fields is None:
            out = {"job": job, **jsonable(result.to_dict())}
        else:
            out = {"job": job, **{f: jsonable(getattr(result, f)) for f in self.fields}}
        if isinstance(out.get("message"), str):
            out["message"] = api_wording(out["message"], options)
        if isinstance(out.get("warnings"), list):
            out["warnings"] = [
                api_wording(w, options) if isinstance(w, str) else w for w in out["warnings"]
            ]
        return out


def _rows_scale_out(
    repo: HistoryRepository, job: str, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Every query row's scale-out under one name: ``scale_out``, or the trace's own.

    A file of query rows has one header; JSON rows each have their own keys, and rows
    naming the scale-out differently (or not at all) would reach the model as rows
    with a missing scale-out.

    Raises
    ------
    InputError
        Naming the row (counted from 1) that gives no scale-out, or gives it twice.
    """
    rows = kwargs.get("rows")
    if rows is None:
        return kwargs
    trace = repo.job(job).scale_out_column
    names = ["scale_out"] + ([trace] if trace and trace != "scale_out" else [])
    spelled = " or ".join(repr(n) for n in names)
    used = set()
    for i, row in enumerate(rows, start=1):
        given = [n for n in names if n in row]
        if not given:
            raise InputError(
                f"rows: row {i} gives no scale-out; add {spelled} (the number of machines) "
                "to it, as every row needs one"
            )
        if len(given) > 1:
            raise InputError(
                f"rows: row {i} gives the scale-out twice, as {spelled}; keep one of them"
            )
        used.add(given[0])
    if len(used) == 1:  # one name in every row: the rows stay as given
        return kwargs
    uniform = [
        {"scale_out": row[n], **{k: v for k, v in row.items() if k != n}}
        for row in rows
        for n in names
        if n in row
    ]
    return {**kwargs, "rows": uniform}


_COMMON = (("settings", "set"), ("model", "model"), ("include_shared", "include_shared"))
_COMMON_OPTIONS = (("--set", "set"), ("--model", "model"))

_ANSWERS = {
    "predict": _UseCase(
        "jobcast.app.predict",
        "predict",
        (*_COMMON, ("rows", "rows"), ("scale_outs", "scale_out"), ("machine_type", "machine_type")),
        ("model", "chosen", "predictions", "queries", "warnings"),
        (
            *_COMMON_OPTIONS,
            ("--scale-out", "scale_out"),
            ("--machine-type", "machine_type"),
            ("--input", "rows"),
        ),
        _rows_scale_out,
    ),
    "configure": _UseCase(
        "jobcast.app.configure",
        "configure",
        (
            *_COMMON,
            ("deadline_s", "deadline_s"),
            ("confidence", "confidence"),
            ("prices", "prices"),
            ("scale_outs", "scale_outs"),
            ("machine_types", "machine_types"),
        ),
        None,  # model, chosen, deadline_s, confidence, currency, feasible, best, ...
        (
            *_COMMON_OPTIONS,
            ("--scale-out", "scale_outs"),
            ("--machine-type", "machine_types"),
            ("--confidence", "confidence"),
            ("--deadline", "deadline_s"),
            ("--prices", "prices"),
        ),
    ),
}


def answer(
    repo: HistoryRepository, kind: str, job: str, body: dict[str, Any], *, fit: Fit | None = None
) -> dict[str, Any]:
    """The answer of ``kind`` (``predict`` or ``configure``) to a validated request body.

    ``fit(model, include_shared)`` gives the job's fitted runtime model (a caller that
    keeps models per history version); without it the use case fits one.
    """
    return _ANSWERS[kind](repo, job, REQUESTS[kind].model_validate(body), fit)
