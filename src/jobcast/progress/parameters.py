"""The trained parameters of SMiPE's matching and inference, as a frozen value object."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from jobcast.errors import InputError
from jobcast.progress.similarity import MEASURES, PAPER_MEASURES

__all__ = ["MAX_SCALE", "ProgressParameters"]

#: The largest scale ``lambda`` of the blend (the sum of its weights, ``scale``).
MAX_SCALE = 4.0


def _default(measure: str, name: str) -> float:
    """A measure's value when not given: no threshold; weight 1 for SMiPE's, else 0."""
    return 1.0 if name == "weights" and measure in PAPER_MEASURES else 0.0


def _five(values: Any, name: str) -> tuple[float, ...]:
    """Per-measure values from a mapping by name or a sequence in measure order.

    A sequence of SMiPE's five values (the form before the context measure) gets the
    defaults of the others.
    """
    if isinstance(values, Mapping):
        unknown = set(values) - set(MEASURES)
        if unknown:
            raise InputError(
                f"Unknown measure(s) {sorted(unknown)} in {name}; the measures are {MEASURES}."
            )
        values = [values.get(m, _default(m, name)) for m in MEASURES]
    out = tuple(float(v) for v in values)
    if len(out) == len(PAPER_MEASURES):
        out += tuple(_default(m, name) for m in MEASURES[len(out):])
    if len(out) != len(MEASURES):
        raise InputError(f"{name} needs {len(MEASURES)} values ({MEASURES}), got {len(out)}.")
    return out


@dataclass(frozen=True)
class ProgressParameters:
    """Thresholds, weights and the exponent of SMiPE's matching and inference.

    Parameters
    ----------
    thresholds
        Per measure (order of :data:`jobcast.progress.similarity.MEASURES`, or a
        mapping by name): executions whose similarity is below are discarded.
    weights
        Per measure: weight in the weighted average ``sim_final`` (by default 1 for
        SMiPE's five measures and 0 for the context measure, which only training
        weighs; a mapping or five values without it leave it at 0).
    final_threshold
        ``T_final``: executions with ``sim_final`` below it are not similar.
    exponent
        ``b > 1``: per-execution estimates are averaged with weights ``sim_final ** b``.
    lowering_step
        When no execution passes, all thresholds are multiplied by
        ``1 - step, 1 - 2 step, ...`` until one does.
    adjustment
        ``lambda`` in [0, 1]: share of the adjustment factor applied,
        ``f = 1 + lambda (f_total - 1)``. 1 is the paper's inference; training may
        damp it where iteration runtimes are dominated by noise that does not carry
        over from past to future iterations (an extension of the paper).
    scale_out_strength
        ``kappa`` in [0, 1]: how far runtimes are converted between scale-outs by the
        per-iteration scale-out models, ``runtime * (model(s_to) / model(s_from)) **
        kappa``. 1 is the paper's full conversion, 0 none; training picks it where
        the models, fitted per iteration on few noisy points, convert worse than
        they help (an extension of the paper).
    blend
        ``beta`` in [0, 1]: share of the robust estimate of all candidates (the sum
        of the per-iteration median runtimes, adjusted by the median factor) in the
        estimate, ``(1 - beta) SMiPE + beta robust``. 0 is the paper's; training
        raises it where matching on few executions with outlier iterations picks
        worse than the whole history does (an extension of the paper).
    median_share
        ``rho`` in [0, 1]: share of the weighted median of the similar executions'
        estimates (weights ``sim_final ** b / estimate``, the value that minimises
        their expected relative error of the remaining runtime) in place of their
        weighted mean, ``(1 - rho) mean + rho median``. 0 is the paper's mean;
        training raises it where a few similar executions' outlier iterations pull
        the mean up (an extension of the paper).
    fallback
        ``gamma`` in [0, 1]: share of the history-mean baseline's estimate (the
        other executions' mean remaining runtime from the same iteration on,
        :func:`jobcast.progress.baseline.history_mean`) in the final estimate,
        ``(1 - gamma) estimate + gamma history_mean``. 0 is the estimate above;
        training raises it where similarity matching predicts worse than the plain
        history mean (an extension of the paper).
    scaled_share
        ``sigma`` in [0, 1], with ``gamma + sigma <= 1``: share of the pace-scaled
        history mean (the same mean scaled by the run's runtime so far against the
        other executions' at the same iteration,
        :func:`jobcast.progress.baseline.scaled_history_mean`), so the blend is
        ``(1 - gamma - sigma) estimate + gamma history_mean + sigma scaled``.
    scale
        ``lambda`` in (0, 4]: the blend is multiplied by it. Below 1 where the
        remaining runtime is uncertain: the value that minimises the expected
        relative error of the remaining runtime lies below its median then (an
        overestimate's relative error is unbounded, an underestimate's at most 1).
    length_strength
        In [0, 1]: each candidate's remaining runtime is multiplied by its ratio of
        remaining iterations, the current run's expected count against its own, to
        this power (:mod:`jobcast.progress.lengths`). 0 (the paper's) takes the
        candidates as they ran; training sets 1 where the runs differ in length and
        the conversion lowers the leave-one-out error (an extension of the paper).

    Examples
    --------
    >>> p = ProgressParameters(weights={"runtime": 2.0})
    >>> ProgressParameters.from_dict(p.to_dict()) == p
    True
    """

    thresholds: tuple[float, ...] = field(default=(0.0,) * len(MEASURES))
    weights: tuple[float, ...] = field(
        default=tuple(_default(m, "weights") for m in MEASURES)
    )
    final_threshold: float = 0.0
    exponent: float = 3.0
    lowering_step: float = 0.1
    adjustment: float = 1.0
    scale_out_strength: float = 1.0
    blend: float = 0.0
    median_share: float = 0.0
    fallback: float = 0.0
    scaled_share: float = 0.0
    scale: float = 1.0
    length_strength: float = 0.0

    def __post_init__(self) -> None:
        thresholds = _five(self.thresholds, "thresholds")
        weights = _five(self.weights, "weights")
        object.__setattr__(self, "thresholds", thresholds)
        object.__setattr__(self, "weights", weights)
        for name, value in zip(MEASURES, thresholds, strict=True):
            if not 0.0 <= value <= 1.0:
                raise InputError(f"Threshold of {name!r} must lie in [0, 1], got {value}.")
        if any(not (math.isfinite(w) and w >= 0.0) for w in weights) or sum(weights) <= 0:
            raise InputError(f"Weights must be finite, >= 0 and not all 0, got {weights}.")
        if not 0.0 <= float(self.final_threshold) <= 1.0:
            raise InputError(f"final_threshold must lie in [0, 1], got {self.final_threshold}.")
        if not (math.isfinite(float(self.exponent)) and float(self.exponent) > 1.0):
            raise InputError(f"exponent b must be a number > 1, got {self.exponent}.")
        if not 0.0 < float(self.lowering_step) <= 1.0:
            raise InputError(f"lowering_step must lie in (0, 1], got {self.lowering_step}.")
        for name in ("blend", "median_share", "fallback", "scaled_share", "adjustment",
                     "scale_out_strength", "length_strength"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name} must lie in [0, 1], got {value}.")
            object.__setattr__(self, name, float(value))
        if self.fallback + self.scaled_share > 1.0 + 1e-9:
            raise InputError(
                f"fallback + scaled_share must be at most 1, got {self.fallback} + "
                f"{self.scaled_share}."
            )
        if not (math.isfinite(float(self.scale)) and 0.0 < float(self.scale) <= MAX_SCALE):
            raise InputError(f"scale must lie in (0, {MAX_SCALE:g}], got {self.scale}.")
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(self, "final_threshold", float(self.final_threshold))
        object.__setattr__(self, "exponent", float(self.exponent))
        object.__setattr__(self, "lowering_step", float(self.lowering_step))

    @property
    def threshold_array(self) -> np.ndarray:
        """Thresholds as an array in measure order."""
        return np.asarray(self.thresholds, dtype=np.float64)

    @property
    def weight_array(self) -> np.ndarray:
        """Weights as an array in measure order."""
        return np.asarray(self.weights, dtype=np.float64)

    def with_values(self, **changes: Any) -> ProgressParameters:
        """Return a copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: measures by name."""
        return {
            "thresholds": dict(zip(MEASURES, self.thresholds, strict=True)),
            "weights": dict(zip(MEASURES, self.weights, strict=True)),
            "final_threshold": self.final_threshold,
            "exponent": self.exponent,
            "lowering_step": self.lowering_step,
            "adjustment": self.adjustment,
            "scale_out_strength": self.scale_out_strength,
            "blend": self.blend,
            "median_share": self.median_share,
            "fallback": self.fallback,
            "scaled_share": self.scaled_share,
            "scale": self.scale,
            "length_strength": self.length_strength,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgressParameters:
        """Inverse of :meth:`to_dict` (keys missing from older stored forms take their defaults).

        Raises
        ------
        jobcast.errors.InputError
            On unknown keys or invalid values.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"Progress parameters must be a mapping, got {type(data).__name__}.")
        known = {
            "thresholds",
            "weights",
            "final_threshold",
            "exponent",
            "lowering_step",
            "adjustment",
            "scale_out_strength",
            "blend",
            "median_share",
            "fallback",
            "scaled_share",
            "scale",
            "length_strength",
        }
        unknown = set(data) - known
        if unknown:
            raise InputError(
                f"Unknown progress parameter(s) {sorted(unknown)}; known: {sorted(known)}."
            )
        return cls(**dict(data))
