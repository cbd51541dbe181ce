"""Fixtures of the real PySpark runs, shared with the other test folder."""

from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]
