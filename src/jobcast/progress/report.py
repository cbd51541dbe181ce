"""What progress training found: errors before and after, and what it had to regularise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobcast.progress.combine import mean_remaining_error
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import SimulationCases

__all__ = ["MIN_TRAINING_EXECUTIONS", "TrainingReport", "regularise"]


@dataclass(frozen=True)
class TrainingReport:
    """What training found and how well: errors before and after, and what it had to fix.

    Attributes
    ----------
    params
        The trained parameters.
    error_before, error_after
        Leave-one-out mean relative error of the remaining runtime (the paper's
        metric) with the untrained defaults and with ``params``.
    total_error_before, total_error_after
        The same for the relative error of the total runtime.
    estimates, executions
        Simulated estimates and executions trained on.
    notes
        What training regularised or fell back from, in words (empty when nothing).
    context_relevance
        ``(attribute, relevance)`` of each context attribute of the history, as the
        context measure weighs them (learned from the trained-on executions; 0: not
        relevant beyond chance); empty without context attributes.
    """

    params: ProgressParameters
    error_before: float
    error_after: float
    total_error_before: float
    total_error_after: float
    estimates: int
    executions: int
    notes: tuple[str, ...] = ()
    context_relevance: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``jobcast train progress --json``)."""
        return {
            "parameters": self.params.to_dict(),
            "error_before": self.error_before,
            "error_after": self.error_after,
            "total_error_before": self.total_error_before,
            "total_error_after": self.total_error_after,
            "estimates": self.estimates,
            "executions": self.executions,
            "notes": list(self.notes),
            "context_relevance": dict(self.context_relevance),
        }


#: Fewest executions whose leave-one-out simulations are worth training on; below, the
#: trained parameters would follow single runs, so the defaults are kept.
MIN_TRAINING_EXECUTIONS = 5

#: Exponents tried when BOBYQA ends at a bound of b (the objective is flat there).
_EXPONENT_GRID = (1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0)

#: A smaller exponent within this share of the best error is preferred (it averages
#: over more executions, so it generalises better than the near-nearest-neighbour).
_TOLERANCE = 0.02


def regularise(
    cases: SimulationCases,
    params: ProgressParameters,
    err: float,
    *,
    bounds: tuple[float, float],
) -> tuple[ProgressParameters, float, list[str]]:
    """Replace an exponent at its search bound by the smallest within 2 % of the error.

    Returns
    -------
    tuple
        The parameters, their error and notes saying what was changed or found.
    """
    notes: list[str] = []
    lo, hi = bounds
    b = params.exponent
    if b >= hi / 1.05 or b <= lo * 1.05:
        scored = [(g, mean_remaining_error(cases, params.with_values(exponent=g)))
                  for g in _EXPONENT_GRID]
        within = [(g, e) for g, e in scored if e <= err * (1.0 + _TOLERANCE) + 1e-12]
        if within:
            g, e = min(within, key=lambda t: t[0]) if b >= hi / 1.05 else max(
                within, key=lambda t: t[0]
            )
            notes.append(
                f"the exponent b ended at its bound ({b:.3g}), where the error no longer "
                f"changes; kept b = {g:g}, the {'smallest' if b >= hi / 1.05 else 'largest'} "
                f"within {_TOLERANCE:.0%} of its error ({e:.4f} against {err:.4f})"
            )
            params, err = params.with_values(exponent=g), e
        else:
            notes.append(f"the exponent b is at its bound ({b:.3g}): every other value of b "
                         "does noticeably worse on this history")
    if not any(params.thresholds) and params.final_threshold == 0.0 and params.exponent >= 34:
        notes.append("no thresholds and a large b: the estimate follows the few most "
                     "similar executions")
    return params, err, notes
