"""Real iterative PySpark jobs (PageRank, connected components, k-means, SGD) run locally."""

from jobcast.workloads.base import IterationHook, SparkOptions, WorkloadResult, find_app_event_log
from jobcast.workloads.runner import WORKLOADS, run_workload, workload_defaults

__all__ = [
    "WORKLOADS",
    "IterationHook",
    "SparkOptions",
    "WorkloadResult",
    "find_app_event_log",
    "run_workload",
    "workload_defaults",
]
