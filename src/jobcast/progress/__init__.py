"""Progress estimation of running iterative jobs (SMiPE): similarity, matching, inference."""

from jobcast.progress.arrays import (
    IterationArrays,
    NodeProfiles,
    check_current,
    node_profiles,
    to_arrays,
)
from jobcast.progress.estimator import ProgressEstimate, ProgressEstimator, resolve_parameters
from jobcast.progress.inference import (
    adjusted,
    adjustment_factors,
    combine_estimates,
    recency_weights,
    remaining_estimates,
)
from jobcast.progress.matching import Match, combine_similarities, match, match_masks
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.prepared import Candidates, PreparedHistory, prepare_history
from jobcast.progress.quality import (
    QualityCurve,
    h_curve,
    n_curve,
    normalized_quality,
    plot_quality,
    quality_curve,
    quality_points,
    similarity_quality,
)
from jobcast.progress.scaling import ScaleOutTable, fit_scale_out_table
from jobcast.progress.similarity import (
    MEASURES,
    hardware_similarity,
    input_size_similarity,
    node_hardware_similarity,
    ratio_similarity,
    records_similarity,
    runtime_similarity,
    scale_out_similarity,
)
from jobcast.progress.simulation import (
    STRENGTH_GRID,
    SimulationCases,
    sample_iterations,
    simulate_cases,
    simulate_strengths,
)
from jobcast.progress.training import thresholds_from_quality, train_on_cases, train_parameters

__all__ = [
    "MEASURES",
    "STRENGTH_GRID",
    "Candidates",
    "IterationArrays",
    "Match",
    "NodeProfiles",
    "PreparedHistory",
    "ProgressEstimate",
    "ProgressEstimator",
    "ProgressParameters",
    "QualityCurve",
    "ScaleOutTable",
    "SimulationCases",
    "adjusted",
    "adjustment_factors",
    "check_current",
    "combine_estimates",
    "combine_similarities",
    "fit_scale_out_table",
    "h_curve",
    "hardware_similarity",
    "input_size_similarity",
    "match",
    "match_masks",
    "n_curve",
    "node_hardware_similarity",
    "node_profiles",
    "normalized_quality",
    "plot_quality",
    "prepare_history",
    "quality_curve",
    "quality_points",
    "ratio_similarity",
    "recency_weights",
    "records_similarity",
    "remaining_estimates",
    "resolve_parameters",
    "runtime_similarity",
    "sample_iterations",
    "scale_out_similarity",
    "similarity_quality",
    "simulate_cases",
    "simulate_strengths",
    "thresholds_from_quality",
    "to_arrays",
    "train_on_cases",
    "train_parameters",
]
