"""Request bodies of the service's API (pydantic models at the HTTP edge)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobcast.app.fitting import MAX_QUERIES

__all__ = ["PredictRequest", "ConfigureRequest"]

# as many queries as the command line takes
_MAX_QUERIES = MAX_QUERIES


def _boolean_at(value: Any, where: str) -> tuple[str, bool] | None:
    """The path and value of the first JSON true/false in ``value``, or None."""
    if isinstance(value, bool):
        return where, value
    if isinstance(value, dict):
        items: Any = ((f"{where}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for path, v in items:
        found = _boolean_at(v, path)
        if found is not None:
            return found
    return None


def _no_booleans(data: Any) -> Any:
    """Refuse true/false anywhere but ``include_shared``.

    Pydantic would read true as the number 1 (a data size of 1 MB, a scale-out of 1):
    attribute values, scale-outs, deadlines and prices are numbers or texts.
    """
    if not isinstance(data, dict):
        return data
    for field, value in data.items():
        if field == "include_shared":
            continue
        found = _boolean_at(value, str(field))
        if found is not None:
            path, flag = found
            row = re.match(r"rows\[(\d+)\]", path)
            if row is not None:  # the use cases count rows from 1
                path += f" (row {int(row.group(1)) + 1})"
            raise ValueError(
                f"{path} is {str(flag).lower()}, a boolean; give a number (or a text, for "
                "an attribute holding texts), e.g. 1 for true and 0 for false"
            )
    return data


class PredictRequest(BaseModel):
    """``POST /api/v1/jobs/{job}/predict``: attributes and scale-outs, or complete rows.

    Either ``set`` (context attributes, numbers or text) with ``scale_out`` (one prediction
    per scale-out) or ``rows`` (one prediction per row, each naming its scale-out and
    attributes). Machine-fixed attributes (slots, memory) are derived as ``configure``
    does.
    """

    model_config = ConfigDict(extra="forbid")

    set: dict[str, float | str] | None = Field(
        default=None, description="Context attributes, e.g. {'data_size_MB': 15408}."
    )
    scale_out: list[int] | None = Field(
        default=None,
        description="Scale-outs to predict, e.g. [4, 8, 12].",
        max_length=_MAX_QUERIES,
    )
    machine_type: str | None = None
    rows: list[dict[str, Any]] | None = Field(default=None, max_length=_MAX_QUERIES)
    model: str = "auto"
    include_shared: bool = True

    _refuse_booleans = model_validator(mode="before")(_no_booleans)

    @model_validator(mode="after")
    def _one_form(self) -> PredictRequest:
        if self.rows is not None and (self.set is not None or self.scale_out is not None):
            raise ValueError("give either rows, or set with scale_out; not both")
        if self.rows is None and not self.scale_out:
            raise ValueError("give scale_out (a list of scale-outs) with set, or rows")
        if self.scale_out is not None and any(m <= 0 for m in self.scale_out):
            raise ValueError("scale_out values must be positive integers")
        return self


class ConfigureRequest(BaseModel):
    """``POST /api/v1/jobs/{job}/configure``: the cheapest cluster that meets a deadline."""

    model_config = ConfigDict(extra="forbid")

    deadline_s: float = Field(gt=0, description="Runtime the job must stay within, seconds.")
    confidence: float = Field(default=0.95, gt=0, lt=1)
    set: dict[str, float | str] | None = None
    prices: dict[str, float] | None = Field(
        default=None, description="Price per machine-hour by machine type."
    )
    scale_outs: list[int] | None = Field(default=None, max_length=_MAX_QUERIES)
    machine_types: list[str] | None = Field(default=None, max_length=100)
    model: str = "auto"
    include_shared: bool = True

    _refuse_booleans = model_validator(mode="before")(_no_booleans)
