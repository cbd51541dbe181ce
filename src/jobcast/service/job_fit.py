"""The job page's predictions: the model at a typical configuration the history holds."""

from __future__ import annotations

import threading
from typing import Any

from jobcast.history import HistoryRepository

__all__ = ["FitCache", "typical_values"]


def _shown(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return f"{int(v)}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _typical_number(column: Any) -> tuple[float, str] | None:
    """The observed value nearest the median (the smaller on a tie), and how it was chosen.

    The median itself can be a value no execution had (the mean of the middle two);
    a value the history holds is one the model was fitted on.
    """
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce").dropna().to_numpy(float)
    if numbers.size == 0:
        return None
    median = float(np.median(numbers))
    observed = np.unique(numbers)  # sorted: argmin takes the smaller of two as near
    value = float(observed[int(np.argmin(np.abs(observed - median)))])
    how = "median" if value == median else f"observed value nearest the median {_shown(median)}"
    return value, how


def _most_common(column: Any) -> tuple[str, str] | None:
    values = column.dropna()
    if values.empty:
        return None
    counts = values.astype(str).value_counts()
    # the most common; on a tie the first in sorted order, so the page does not flicker
    top = sorted(counts[counts == counts.max()].index)[0]
    how = "the only one" if len(counts) == 1 else f"most common of {len(counts)}"
    return top, how


def typical_values(
    frame: Any, attributes: Any, *, derived: set[str]
) -> tuple[dict[str, Any], str | None, list[dict[str, str]]]:
    """A typical configuration of the history's executions ``frame``.

    Parameters
    ----------
    frame
        The executions (:meth:`HistoryRepository.executions`).
    attributes
        The job's :class:`~jobcast.history.Attribute` s.
    derived
        Attributes the machine type and the scale-out fix (left to the model).

    Returns
    -------
    dict, str or None, list of dict
        The attribute values (numbers: the observed value nearest the median; text: the
        most common), the machine type (most common; None without), and what the page
        shows of them: one ``{"name", "value", "how"}`` per value.
    """
    values: dict[str, Any] = {}
    basis: list[dict[str, str]] = []
    machine = _most_common(frame["machine_type"])
    if machine is not None:
        basis.append({"name": "machine type", "value": machine[0], "how": machine[1]})
    for a in attributes:
        if a.name in derived:
            basis.append(
                {"name": a.name, "value": "", "how": "from the machine type and the scale-out"}
            )
            continue
        found = _typical_number(frame[a.name]) if a.numeric else _most_common(frame[a.name])
        if found is None:
            continue
        values[a.name] = found[0]
        basis.append({"name": a.name, "value": _shown(found[0]), "how": found[1]})
    return values, None if machine is None else machine[0], basis


class FitCache:
    """Model fits per job, recomputed only when the job's number of executions changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fits: dict[str, tuple[int, dict[str, Any]]] = {}

    def get(self, repo: HistoryRepository, job: str, frame: Any) -> dict[str, Any]:
        """The job page's predictions (``model``, ``chosen``, ``rows``, ``basis``) or ``error``."""
        key = len(frame)
        with self._lock:
            hit = self._fits.get(job)
        if hit is not None and hit[0] == key:
            return hit[1]
        out = self._fit(repo, job, frame)
        with self._lock:
            self._fits[job] = (key, out)
        return out

    @staticmethod
    def _fit(repo: HistoryRepository, job: str, frame: Any) -> dict[str, Any]:
        from jobcast.app.fitting import fit_job
        from jobcast.app.predict import predict

        scale_outs = sorted({int(m) for m in frame["scale_out"].dropna()})
        try:
            fitted = fit_job(repo, job)
            values, machine, basis = typical_values(
                frame, fitted.spec.attributes, derived=fitted.derived
            )
            result = predict(
                repo,
                job,
                settings=values,
                scale_outs=scale_outs,
                # a job whose model knows no machine types (none recorded) takes none
                machine_type=machine if fitted.machine_types else None,
                fitted=fitted,
            )
        except Exception as e:  # a job without a usable model still gets its page
            return {"error": str(e)}
        rows = list(zip(scale_outs, [float(p) for p in result.predictions], strict=True))
        return {"model": result.model, "chosen": result.chosen, "rows": rows, "basis": basis}
