"""How Spark jobs form iterations: the one rule that event logs and the REST API both follow."""

from __future__ import annotations

import re

from jobcast.errors import InputError

__all__ = ["DEFAULT_ITERATIONS", "IterationMode", "IterationRule", "iteration_regex"]

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
