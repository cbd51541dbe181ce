"""Nested training for the progress evaluation: one training per held-out execution.

Each execution's parameters are trained on a simulation of the history *without* it, so
nothing computed from it (its iterations as a candidate, the candidates' robust
estimates, their scale-out models) reaches the parameters that estimate it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import NotEnoughDataError
from jobcast.progress.combine import case_estimates
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import SimulationCases, simulate_history
from jobcast.progress.training import notes_not_logged, train_report

__all__ = ["NestedResult", "log_nested_notes", "nested_estimates"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class NestedResult:
    """Estimates of one held-out execution with parameters trained on the others."""

    row: int
    remaining: np.ndarray
    spread: np.ndarray
    params: ProgressParameters
    notes: tuple[str, ...] = ()


def nested_estimates(
    history: pd.DataFrame,
    hardware: pd.DataFrame | None,
    simulation: dict[str, Any],
    cases: Mapping[float, SimulationCases],
    row: int,
    execution: Any,
    kwargs: dict[str, Any],
) -> NestedResult:
    """Train on the history without ``execution`` (array row ``row``), estimate its cases.

    ``simulation`` holds :func:`simulate_history`'s options; ``cases`` the full
    history's simulation per scale-out strength; ``kwargs`` :func:`train_report`'s.
    """
    # The held-out execution leaves the history before the training set is simulated,
    # so nothing computed from it (the candidates' robust estimates, their scale-out
    # models) reaches its parameters; its own estimates come from the full simulation,
    # in which it is not its own candidate.
    others = history[history["execution"] != execution]
    if hardware is not None and "execution" in hardware.columns:
        hardware = hardware[hardware["execution"] != execution]
    try:
        _, training_cases = simulate_history(others, hardware, **simulation)
    except NotEnoughDataError as e:
        # nothing to train on without it (as `train progress` on too few executions)
        params = ProgressParameters(scale_out_strength=max(cases))
        notes: tuple[str, ...] = (f"{e} Kept the default parameters",)
    else:
        # one training per held-out execution: its notes are summed up once by the
        # caller instead of each being logged as a warning (dozens per evaluation)
        with notes_not_logged():
            report = train_report(training_cases, **kwargs)
        params, notes = report.params, report.notes
    own = cases[params.scale_out_strength].only(row)
    return NestedResult(row, case_estimates(own, params), own.spread(params), params, notes)


def log_nested_notes(results: list[NestedResult]) -> None:
    """One line for the nested trainings' notes: how many trainings left one, and the first."""
    noted = [r.notes for r in results if r.notes]
    if noted:
        logger.info(
            "Nested training: %d of %d trainings left notes (see `jobcast train progress` "
            "for the history's own), e.g. %s.",
            len(noted), len(results), noted[0][0],
        )
