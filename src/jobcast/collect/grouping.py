"""How Spark jobs form iterations: the one rule that event logs and the REST API both follow."""

from __future__ import annotations

import re
from collections.abc import Sequence
from statistics import median

from jobcast.errors import InputError

__all__ = [
    "DEFAULT_ITERATIONS",
    "IterationMode",
    "IterationRule",
    "JobLabels",
    "hidden_loop",
    "iteration_regex",
    "no_iteration_found",
]

#: ``"auto"`` (job groups when the application sets them, else job descriptions, else
#: each Spark job), ``"jobs"`` (each Spark job is an iteration), ``"job-groups"`` (each
#: value of the ``spark.jobGroup.id`` property, as set by ``SparkContext.setJobGroup``),
#: or a regular expression searched in the job description (``spark.job.description``)
#: and then the job group; its first capture group (or the whole match) names the
#: iteration, and jobs that do not match belong to no iteration.
IterationMode = str

#: The default of ``import eventlog``, ``watch`` and the followers.
DEFAULT_ITERATIONS: IterationMode = "auto"

_KEYWORDS = ("auto", "jobs", "job-groups")


def iteration_regex(iterations: IterationMode) -> re.Pattern[str] | None:
    """The compiled REGEX of an iteration mode; None for the keywords.

    Raises
    ------
    InputError
        When the mode is neither a keyword nor a valid regular expression.
    """
    if iterations in _KEYWORDS:
        return None
    try:
        return re.compile(iterations)
    except re.error as e:
        raise InputError(
            f"--iterations {iterations!r} is neither 'auto', 'jobs', 'job-groups' nor a "
            f"valid regular expression: {e}"
        ) from e


class IterationRule:
    """The iteration a Spark job belongs to, for one application.

    With ``"auto"``, jobs that carry a job group form iterations by group, jobs
    without one but with a description by description, and the others are an
    iteration each. As soon as the application shows a job group (or description),
    the single-job iterations of jobs without one are dropped (:meth:`keeps`): they
    were set-up work around the grouped iterations.

    Parameters
    ----------
    mode
        See :data:`IterationMode`.

    Examples
    --------
    >>> rule = IterationRule("auto")
    >>> rule.key(0, None, None), rule.used
    ('0', 'jobs')
    >>> rule.key(1, "iteration-1", None), rule.used, rule.keeps("0")
    ('iteration-1', 'job-groups', False)
    """

    def __init__(self, mode: IterationMode = DEFAULT_ITERATIONS) -> None:
        self.mode = mode
        self._regex = iteration_regex(mode)
        self._single: set[str] = set()
        self._labelled: str | None = None

    @property
    def used(self) -> str:
        """What forms iterations: ``jobs``, ``job-groups``, ``job-descriptions`` or ``regex``."""
        if self._regex is not None:
            return "regex"
        if self.mode == "auto":
            return self._labelled or "jobs"
        return self.mode

    def describe(self) -> str:
        """One line for the user saying how iterations are found."""
        if self.mode != "auto":
            return f"iterations: {self.used} (--iterations {self.mode})"
        if self._labelled is None:
            return (
                "iterations: each Spark job (the application sets no job groups or "
                "descriptions so far; --iterations job-groups|REGEX to choose)"
            )
        return f"iterations: {self._labelled} (set by the application)"

    def key(self, job_id: int, group: object, description: object) -> str | None:
        """The iteration label of a job, or None when it belongs to no iteration."""
        group = None if group in (None, "") else str(group)
        description = None if description in (None, "") else str(description)
        if self.mode == "jobs":
            return str(job_id)
        if self._regex is not None:
            for text in (description, group):
                if text is not None:
                    m = self._regex.search(text)
                    if m is not None:
                        return m.group(1) if m.re.groups else m.group(0)
            return None
        if self.mode == "job-groups":
            return group
        if group is not None and self._labelled != "job-descriptions":
            self._labelled = "job-groups"
            return group
        if description is not None and self._labelled != "job-groups":
            self._labelled = "job-descriptions"
            return description
        if self._labelled is not None:
            return None
        label = str(job_id)
        self._single.add(label)
        return label

    def keeps(self, label: str) -> bool:
        """False for single-job iterations made obsolete by labelled ones (``auto``)."""
        return self._labelled is None or label not in self._single

    def closes_with_its_job(self, label: str) -> bool:
        """True when the iteration is one job, so it is complete when that job ends."""
        return self.mode == "jobs" or label in self._single


class JobLabels:
    """What an application's Spark jobs carry that iterations are formed by, for messages.

    Counts the jobs, those the iteration rule left out, and those with a job group or a
    description (with a few example values), so that an import finding no iteration can
    say what the log has instead.

    Examples
    --------
    >>> labels = JobLabels()
    >>> labels.add(None, None, left_out=True)
    >>> labels.add("iter-1", None, left_out=True)
    >>> labels.summary()
    "2 Spark jobs, 1 with a job group (e.g. 'iter-1'), none with a description"
    """

    _EXAMPLES = 3

    def __init__(self) -> None:
        self.jobs = 0
        self.left_out = 0
        self.grouped = 0
        self.described = 0
        self.groups: list[str] = []
        self.descriptions: list[str] = []

    def add(self, group: object, description: object, *, left_out: bool) -> None:
        """Count one Spark job; ``left_out`` when it belongs to no iteration."""
        self.jobs += 1
        self.left_out += left_out
        if group not in (None, ""):
            self.grouped += 1
            self._example(self.groups, str(group))
        if description not in (None, ""):
            self.described += 1
            self._example(self.descriptions, str(description))

    def _example(self, seen: list[str], value: str) -> None:
        if len(seen) < self._EXAMPLES and value not in seen:
            seen.append(value)

    def summary(self) -> str:
        """``N Spark jobs, M with a job group (e.g. ...), K with a description (e.g. ...)``."""

        def part(count: int, what: str, examples: list[str]) -> str:
            if not count:
                return f"none with a {what}"
            shown = ", ".join(repr(e[:60]) for e in examples)
            return f"{count} with a {what} (e.g. {shown})"

        return (
            f"{self.jobs} Spark job{'' if self.jobs == 1 else 's'}, "
            f"{part(self.grouped, 'job group', self.groups)}, "
            f"{part(self.described, 'description', self.descriptions)}"
        )


def no_iteration_found(mode: IterationMode, labels: JobLabels) -> str | None:
    """Why a finished application yields no iteration, when ``--iterations`` is the cause.

    Parameters
    ----------
    mode
        The ``--iterations`` used.
    labels
        What the application's jobs carry.

    Returns
    -------
    str or None
        The explanation, naming what the log has and what to try; None when the rule left
        out no job (an application without Spark jobs, or whose jobs never ended, has no
        iteration whatever ``--iterations`` says).
    """
    if labels.left_out == 0:
        return None
    tries = ["--iterations jobs (each Spark job an iteration)"]
    if mode != "auto":
        tries.append(
            "auto (job groups or descriptions when the application sets them, else each job)"
        )
    if labels.grouped and mode != "job-groups":
        tries.append("job-groups")
    if mode not in _KEYWORDS and (labels.grouped or labels.described):
        tries.append("a regular expression matching the groups or descriptions shown")
    where = (
        " (a regular expression is searched in job descriptions and job groups only, "
        "not in call sites or stage names)"
        if mode not in _KEYWORDS
        else ""
    )
    return (
        f"--iterations {mode!r} puts none of the application's Spark jobs into an "
        f"iteration{where}; the log has {labels.summary()}. Try "
        + ", ".join(tries[:-1])
        + (" or " if len(tries) > 1 else "")
        + tries[-1]
    )


#: :func:`hidden_loop`'s thresholds: at least this many iterations, the longest holds at
#: least this share of the iteration time, and lasts and runs tasks at least this many
#: times the median of the others.
HIDDEN_LOOP_MIN_ITERATIONS = 4
HIDDEN_LOOP_SHARE = 1 / 3
HIDDEN_LOOP_RATIO = 5.0


def hidden_loop(durations: Sequence[float], tasks: Sequence[int]) -> str | None:
    """A warning when one iteration probably holds the application's whole loop, else None.

    MLlib's ALS (and any loop over lazily built RDDs) runs all its iterations inside one
    Spark job, which then stands out among the application's iterations by both its time
    and its tasks (every loop iteration adds stages to it). The rule: of at least
    :data:`HIDDEN_LOOP_MIN_ITERATIONS` iterations, the longest takes at least
    :data:`HIDDEN_LOOP_SHARE` of the iteration time, and lasts and ran at least
    :data:`HIDDEN_LOOP_RATIO` times as long and as many tasks as the median of the others.
    The task test keeps out slow set-up work (reading, generating or caching the input),
    which takes long but runs no more tasks than an ordinary iteration.

    Parameters
    ----------
    durations
        Each iteration's duration (seconds), in order.
    tasks
        Each iteration's task count, in the same order.

    Returns
    -------
    str or None
        The warning (which iteration, its share of the time, what it means), or None.

    Examples
    --------
    >>> hidden_loop([7.7, 1.1, 0.7, 17.3, 1.0, 1.9], [4, 2, 2, 130, 2, 2]) is not None
    True
    >>> hidden_loop([6.6, 0.4, 0.4, 0.5, 0.4], [2, 3, 3, 3, 3]) is None  # slow set-up
    True
    """
    n = len(durations)
    if n < HIDDEN_LOOP_MIN_ITERATIONS or len(tasks) != n:
        return None
    k = max(range(n), key=lambda i: durations[i])
    total = sum(durations)
    others = [d for i, d in enumerate(durations) if i != k]
    other_tasks = [t for i, t in enumerate(tasks) if i != k]
    longest = durations[k]
    if total <= 0 or longest < HIDDEN_LOOP_SHARE * total:
        return None
    if longest < HIDDEN_LOOP_RATIO * median(others):
        return None
    if tasks[k] < HIDDEN_LOOP_RATIO * max(median(other_tasks), 1):
        return None
    return (
        f"iteration {k} takes {longest / total:.0%} of the run's iteration time "
        f"({longest:.1f} s; the median other iteration {median(others):.2f} s) and runs "
        f"{tasks[k]} tasks (the median other {median(other_tasks):g}): the application's "
        "loop probably runs inside one Spark job (as MLlib's ALS does), so progress "
        "estimation cannot see its iterations (the count stays the same whatever the "
        "loop's iteration limit)"
    )
