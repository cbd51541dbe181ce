"""The names of the runtime models (importing no model, for fast command-line help)."""

from __future__ import annotations

__all__ = ["BASE_MODEL_NAMES", "MODEL_NAMES"]

#: The single models, by name, in the order the command line lists them.
BASE_MODEL_NAMES: tuple[str, ...] = (
    "ernest",
    "bell",
    "kernel",
    "gbm",
    "optimistic",
    "optimistic-gbm",
    "loglinear",
    "median",
)

#: Every name :func:`jobcast.models.make_model` accepts (``auto`` chooses among the others).
MODEL_NAMES: tuple[str, ...] = ("auto", *BASE_MODEL_NAMES)
