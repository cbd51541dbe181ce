"""Plots of the runtime models' accuracy protocols (:mod:`jobcast.evaluation.models`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from jobcast.errors import InputError

if TYPE_CHECKING:
    from jobcast.evaluation.models import ModelEvaluation

__all__ = ["plot_model_evaluation"]


def plot_model_evaluation(result: ModelEvaluation, path: str | Path) -> Path:
    """Draw MAPE per model (holdout) and MAPE against training-set size into a PNG.

    Parameters
    ----------
    result
        From :func:`evaluate_models`.
    path
        The image file to write (its suffix picks the format, e.g. ``.png``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [p for p in (result.holdout, result.training_sizes) if p is not None]
    if not panels:
        raise InputError("The evaluation holds no protocol results to plot.")
    figure = Figure(figsize=(6 * len(panels), 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    title = f" ({result.job})" if result.job else ""
    i = 0
    if result.holdout is not None:
        ax = axes[i]
        i += 1
        names = list(result.holdout.mapes)
        means = [result.holdout.mean(m) for m in names]
        spread = [float(np.std(result.holdout.mapes[m])) for m in names]
        ax.bar(names, means, yerr=spread, capsize=3, color="tab:blue")
        ax.set_ylabel("MAPE")
        ax.set_title(
            f"Holdout {1 - result.holdout.test_size:.0%}/{result.holdout.test_size:.0%}, "
            f"{result.holdout.repeats} repeats{title}"
        )
        ax.tick_params(axis="x", labelrotation=30)
    if result.training_sizes is not None:
        ax = axes[i]
        ev = result.training_sizes
        for name in ev.mapes:
            ax.plot(
                ev.train_sizes, [ev.mean(name, s) for s in ev.train_sizes], marker="o", label=name
            )
        ax.set_xlabel("training rows")
        ax.set_ylabel("MAPE")
        ax.set_yscale("log")
        ax.set_title(f"Small training sets, {ev.repeats} repeats{title}")
        ax.legend(fontsize="small")
    out = Path(path)
    figure.savefig(out, dpi=120)
    return out
