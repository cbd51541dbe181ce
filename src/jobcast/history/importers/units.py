"""Time units of imported runtimes and durations (``--runtime-unit``, ``--duration-unit``)."""

from __future__ import annotations

from jobcast.errors import InputError

__all__ = ["DURATION_UNITS", "seconds_per"]

#: Seconds per unit accepted by ``--runtime-unit`` and ``--duration-unit``.
DURATION_UNITS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


def seconds_per(unit: str, *, option: str) -> float:
    """Seconds per ``unit``; an error naming ``option`` and the units for an unknown one.

    Raises
    ------
    jobcast.errors.InputError
        When ``unit`` is not one of :data:`DURATION_UNITS`.
    """
    if unit not in DURATION_UNITS:
        raise InputError(f"{option} must be one of {', '.join(DURATION_UNITS)}, got {unit!r}")
    return DURATION_UNITS[unit]
