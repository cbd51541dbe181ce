"""Live and historical collection: Spark event logs and REST API, hardware samples, collector."""

from jobcast.collect.client import CollectorClient
from jobcast.collect.dool import read_dool
from jobcast.collect.eventlog import (
    EventLogFollower,
    EventLogImport,
    EventLogParser,
    IterationMode,
    read_event_log,
    read_event_logs,
)
from jobcast.collect.hardware import (
    HARDWARE_COLUMNS,
    HardwareSample,
    HardwareSampler,
    hardware_frame,
    run_agent,
)
from jobcast.collect.rest import SparkRestFollower
from jobcast.collect.runs import (
    EXTRA_ITERATION_COLUMNS,
    ITERATION_COLUMNS,
    ApplicationRun,
    iterations_frame,
)
from jobcast.collect.sources import EventLogSource, find_event_logs, resolve_event_log
from jobcast.errors import SparkRestError

__all__ = [
    "ApplicationRun",
    "CollectorClient",
    "EXTRA_ITERATION_COLUMNS",
    "EventLogFollower",
    "EventLogImport",
    "EventLogParser",
    "EventLogSource",
    "HARDWARE_COLUMNS",
    "HardwareSample",
    "HardwareSampler",
    "ITERATION_COLUMNS",
    "IterationMode",
    "SparkRestError",
    "SparkRestFollower",
    "find_event_logs",
    "hardware_frame",
    "iterations_frame",
    "read_dool",
    "read_event_log",
    "read_event_logs",
    "resolve_event_log",
    "run_agent",
]
