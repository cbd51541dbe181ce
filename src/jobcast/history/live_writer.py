"""Appending collector reports to the history on an open connection: checked, never rewriting."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from jobcast.errors import ConflictError, InputError, UnknownJobError
from jobcast.history.checks import check_iteration_duration, check_new_job_name, check_numbers
from jobcast.history.live_sql import ITERATION_FIELDS, live_statements
from jobcast.history.records import JobSpec, SourceKind
from jobcast.history.values import clean, same_value, same_values, utc

__all__ = ["LiveWriter", "LiveExecution", "DeferredConflict", "START_HINT", "RUNNING",
           "COMPLETED", "FAILED"]

#: ``executions.status`` of live executions (imported ones have none and are never touched).
RUNNING, COMPLETED, FAILED = "running", "completed", "failed"

START_HINT = "report its start first (POST /api/v1/collector/executions)"

_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class LiveExecution:
    """What the history holds of one execution named in a report."""

    id: int
    job: str
    job_id: int
    started_at: datetime | None
    finished_at: datetime | None
    status: str | None
    scale_out: int | None
    attributes: Mapping[str, Any]
    origin: str | None


class DeferredConflict(RuntimeError):
    """A deferred new iteration was stored already: roll back, write again without deferring."""


class LiveWriter:
    """Appends what collectors report, on an open connection (the caller commits).

    Every method checks before it writes, so a refused report (an :class:`InputError`)
    leaves the transaction as it found it and the caller may go on with the next report.

    Parameters
    ----------
    conn
        Connection inside a transaction.
    cache
        Executions (by external id) and iterations (by execution and index) looked up or
        written before, kept by the caller across transactions (the collector's writer):
        what a report needs is then known without a query. The caller clears it when a
        transaction fails. Only this writer changes live executions, so entries stay
        true; one finished by another process meanwhile is seen as running until the
        cache is cleared. With a cache, a new iteration is inserted without reading
        first (its row is read only when the insert finds one).
    defer
        With a cache: keep iteration rows and hardware samples until :meth:`flush` (or
        the next statement of another kind), then write them in one statement per kind,
        not one per report. Every statement is preceded by a flush, so it sees every
        report before it. A new iteration stored already makes the flush raise
        :class:`DeferredConflict`.

    Jobs and the external ids that name no execution are remembered for the writer's
    transaction only (a batch of reports: one lookup per job, not one per report).
    """

    def __init__(
        self, conn: Connection, *, cache: dict[Any, Any] | None = None, defer: bool = False
    ) -> None:
        self._conn = conn
        self.sql = live_statements(conn)
        self.cache = cache
        self.defer = defer and cache is not None
        self._jobs: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._numeric: dict[str, frozenset[str]] = {}  # numeric attributes, by job
        self._absent: set[str] = set()
        # deferred writes: new iteration rows and updates by (execution id, index), samples
        self._inserts: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: dict[tuple[int, int], dict[str, Any]] = {}
        self._samples: list[Mapping[str, Any]] = []

    @property
    def conn(self) -> Connection:
        """The connection, once what was deferred is written (a statement sees it all)."""
        if self._inserts or self._updates or self._samples:
            self.flush()
        return self._conn

    def flush(self) -> None:
        """Write the deferred iteration rows and hardware samples, one statement per kind.

        Raises
        ------
        DeferredConflict
            When a new iteration's row was stored already (roll the transaction back).
        """
        inserts, updates, samples = self._inserts, self._updates, self._samples
        self._inserts, self._updates, self._samples = {}, {}, []
        if inserts:
            stored = self._conn.execute(self.sql.iteration_insert, list(inserts.values())).all()
            if len(stored) != len(inserts):
                raise DeferredConflict(
                    f"{len(inserts) - len(stored)} of {len(inserts)} new iterations were "
                    "stored already; write the reports again without deferring"
                )
        if updates:
            done = self._conn.execute(self.sql.iteration_update, list(updates.values()))
            if done.rowcount != len(updates):
                raise DeferredConflict(
                    f"{len(updates) - done.rowcount} of {len(updates)} iterations were stored "
                    "with other values meanwhile; write the reports again without deferring"
                )
        if samples:
            self._conn.execute(self.sql.hardware_insert, samples)

    # ---------------------------------------------------------------- jobs
    def job(self, name: str, *, create: JobSpec | None = None) -> tuple[int, tuple[str, ...]]:
        """Id and attribute names of job ``name``; created from ``create`` when missing.

        Raises
        ------
        UnknownJobError
            When the job does not exist and ``create`` is None.
        """
        if name in self._jobs:
            return self._jobs[name]
        conn, sql = self.conn, self.sql
        job_id = conn.scalar(sql.job_id, {"name": name})
        if job_id is None:
            if create is None:
                raise UnknownJobError(
                    f"unknown job {name!r}: this collector may not create jobs. Import the "
                    "job first (`jobcast import`) or report with a token allowed to create jobs"
                )
            check_new_job_name(name)
            job_id = conn.scalar(sql.job_insert, {"name": name, "created_at": datetime.now(UTC)})
            created = job_id is not None
            if job_id is None:  # created concurrently by another writer
                job_id = conn.scalar(sql.job_id, {"name": name})
            if created and create.attributes:
                conn.execute(
                    self.sql.attribute_insert,
                    [
                        {
                            "job_id": job_id,
                            "name": a.name,
                            "kind": str(a.kind),
                            "numeric": a.numeric,
                            "position": i,
                        }
                        for i, a in enumerate(create.attributes)
                    ],
                )
        rows = conn.execute(sql.attributes, {"job_id": job_id}).all()
        found = int(job_id), tuple(str(n) for n, _ in rows)  # type: ignore[arg-type]
        self._jobs[name] = found
        self._numeric[name] = frozenset(str(n) for n, numeric in rows if numeric)
        return found

    # ---------------------------------------------------------- executions
    def named(self, external_id: str) -> list[LiveExecution]:
        """Every execution, in any job, whose external id is ``external_id``."""
        if self.cache is not None and external_id in self.cache:
            return self.cache[external_id]
        if external_id in self._absent:
            return []
        found = [_live(r) for r in self.conn.execute(self.sql.named, {"ext": external_id})]
        if found:
            self._remember(external_id, found)
        else:
            self._absent.add(external_id)
        return found

    def prefetch(self, external_ids: Iterable[str]) -> None:
        """Look the executions of ``external_ids`` up in one query (a batch's, with a cache)."""
        if self.cache is None:
            return
        wanted = {x for x in external_ids if x not in self.cache and x not in self._absent}
        if not wanted:
            return
        found: dict[str, list[LiveExecution]] = {x: [] for x in sorted(wanted)}
        for r in self.conn.execute(self.sql.named_in, {"exts": list(found)}):
            found[r[-1]].append(_live(r))
        for external_id, rows in found.items():
            if rows:
                self._remember(external_id, rows)
            else:
                self._absent.add(external_id)

    def _remember(self, key: Any, value: Any) -> None:
        if self.cache is not None:
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.clear()
            self.cache[key] = value

    def _forget(self, external_id: str) -> None:
        self._absent.discard(external_id)
        if self.cache is not None:
            self.cache.pop(external_id, None)

    def own(self, external_id: str, *, job: str | None = None) -> LiveExecution:
        """The live execution ``external_id`` (of ``job`` when given), refusing imported runs."""
        rows = self.named(external_id)
        if job is not None:
            rows = [r for r in rows if r.job == job] or rows
        if not rows:
            raise InputError(f"no execution {external_id!r} is known; {START_HINT}")
        if len(rows) > 1:
            jobs = ", ".join(sorted(r.job for r in rows))
            raise ConflictError(
                f"execution id {external_id!r} exists in several jobs ({jobs}); "
                "report with ids unique across jobs (the Spark application id)"
            )
        row = rows[0]
        if row.status is None:
            raise ConflictError(
                f"execution id {external_id!r} names a run of job {row.job!r} imported from "
                f"{row.origin or 'a file'}; collectors may only report executions they "
                "started. Use an id of your own (the Spark application id)"
            )
        if job is not None and row.job != job:
            raise ConflictError(
                f"execution {external_id!r} belongs to job {row.job!r}, not {job!r}; "
                "report it under the job it was started with"
            )
        return row

    def start(
        self,
        job: str,
        external_id: str,
        *,
        job_id: int,
        started_at: datetime,
        scale_out: int | None = None,
        machine_type: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        origin: str = "collector",
    ) -> tuple[int, bool]:
        """Record a started execution; returns its id and whether it was new.

        The same start reported again is accepted without change; a different start of
        an existing id is refused, as is an id naming an imported run.
        """
        started_at = utc(started_at) or datetime.now(UTC)
        attributes = dict(attributes or {})
        check_numbers(job, attributes, self._numeric.get(job, frozenset()))
        for row in self.named(external_id):
            if row.status is None or row.job != job:
                self.own(external_id, job=job)  # raises the precise conflict
            changed = [
                name
                for name, old, new in (
                    ("started_at", row.started_at, started_at),
                    ("scale_out", row.scale_out, scale_out),
                    ("params", dict(row.attributes), attributes),
                )
                if not same_value(old, new)
            ]
            if changed:
                raise ConflictError(
                    f"execution {external_id!r} of job {job!r} was started already with other "
                    f"{', '.join(changed)}; a start is never rewritten. Report a new run under "
                    "a new id"
                )
            return row.id, False
        new_id = self.conn.scalar(
            self.sql.execution_insert,
            {
                "job_id": job_id,
                "external_id": external_id,
                "scale_out": scale_out,
                "machine_type": machine_type,
                "started_at": started_at,
                "attributes": attributes,
                "source": str(SourceKind.LIVE),
                "origin": origin,
                "status": RUNNING,
            },
        )
        self._forget(external_id)
        if new_id is None:  # another writer won the race: compare with what it stored
            return self.start(
                job,
                external_id,
                job_id=job_id,
                started_at=started_at,
                scale_out=scale_out,
                machine_type=machine_type,
                attributes=attributes,
                origin=origin,
            )
        # what was just stored: the run's first iteration needs no lookup
        run = (int(new_id), job, job_id, started_at, None, RUNNING, scale_out, attributes, origin)
        self._remember(external_id, [LiveExecution(*run)])
        return int(new_id), True

    def finish(
        self,
        external_id: str,
        *,
        job: str | None = None,
        finished_at: datetime,
        completed: bool = True,
        started_at: datetime | None = None,
        gross_runtime: float | None = None,
    ) -> bool:
        """Record the end of a live execution; returns False when it was recorded already.

        A failed run (``completed=False``) keeps no runtime, so models never train on it.
        """
        e = self.own(external_id, job=job)
        finished = utc(finished_at) or datetime.now(UTC)
        if started_at is not None and not same_value(started_at, e.started_at):
            raise ConflictError(
                f"execution {external_id!r} started at {e.started_at}, the finish says "
                f"{utc(started_at)}; send the finish with the start time it was started with"
            )
        status = COMPLETED if completed else FAILED
        if e.finished_at is not None:
            if same_value(e.finished_at, finished) and e.status == status:
                return False
            raise ConflictError(
                f"execution {external_id!r} already finished at {e.finished_at} ({e.status}); "
                "a finish is never rewritten"
            )
        if e.started_at is not None and not finished > e.started_at:
            raise InputError(
                f"execution {external_id!r}: finished_at {finished} is not after its start "
                f"{e.started_at}; send the time the run ended"
            )
        last = self.conn.scalar(self.sql.last_iteration_end, {"eid": e.id})
        if last is not None and utc(last) > finished:  # type: ignore[operator]
            raise InputError(
                f"execution {external_id!r}: finished_at {finished} is before the end of its "
                f"iteration at {utc(last)}; send the time the run ended"
            )
        runtime: float | None = None
        if completed:
            runtime = (
                float(gross_runtime)
                if gross_runtime is not None
                else (finished - e.started_at).total_seconds()  # type: ignore[operator]
            )
            if not runtime > 0:
                raise InputError(f"execution {external_id!r}: gross runtime must be > 0")
        self._forget(external_id)
        done = self.conn.scalar(
            self.sql.finish, {"eid": e.id, "fin": finished, "runtime": runtime, "st": status}
        )
        if done is None:  # finished concurrently: identical finish or conflict
            return self.finish(
                external_id,
                job=job,
                finished_at=finished,
                completed=completed,
                gross_runtime=gross_runtime,
            )
        return True

    # ---------------------------------------------------------- iterations
    def iteration(
        self,
        external_id: str,
        index: int,
        values: Mapping[str, Any],
        *,
        job: str | None = None,
        check_duration: bool = False,
    ) -> bool:
        """Record what is known of one iteration; returns False when nothing was new.

        A start and a finish may arrive in either order; a value already stored is never
        changed (the same value again is accepted). With ``check_duration`` (reports of
        a collector client), a ``duration_s`` that contradicts ``finished_at`` minus
        ``started_at`` is refused (see
        :func:`~jobcast.history.checks.check_iteration_duration`).
        """
        unknown = sorted(set(values) - set(ITERATION_FIELDS))
        if unknown:
            raise InputError(
                f"unknown iteration fields {unknown}; allowed: {sorted(ITERATION_FIELDS)}"
            )
        e = self.own(external_id, job=job)
        new = {
            k: (utc(v) if k.endswith("_at") else clean(v))
            for k, v in values.items()
            if v is not None
        }
        where = f"execution {external_id!r}, iteration {index}"
        for key in ("started_at", "finished_at"):
            t = new.get(key)
            if t is None:
                continue
            if e.started_at is not None and t < e.started_at:
                raise InputError(
                    f"{where}: {key} {t} is before the execution started ({e.started_at})"
                )
            if e.finished_at is not None and t > e.finished_at:
                raise InputError(
                    f"{where}: {key} {t} is after the execution finished ({e.finished_at})"
                )
        ident = {"eid": e.id, "idx": index}
        cached = (e.id, index)
        if self.cache is not None:
            # not cached: taken as new, the insert below finds out (one statement, not two)
            pending = self._inserts.get(cached) or self._updates.get(cached)
            if pending is not None:  # deferred, and known even if the cache was cleared
                old = {k: pending[k] for k in ITERATION_FIELDS}
            else:
                old = self.cache.get(cached, {})
        else:
            old = self._stored_iteration(ident)
        clash = [k for k, v in new.items() if old.get(k) is not None and not same_value(old[k], v)]
        if clash:
            raise ConflictError(
                f"{where} was reported already with other {', '.join(sorted(clash))}; "
                "an iteration is never rewritten"
            )
        changes = {k: v for k, v in new.items() if old.get(k) is None}
        merged = {**{k: v for k, v in old.items() if v is not None}, **changes}
        start, end = utc(merged.get("started_at")), utc(merged.get("finished_at"))
        if start is not None and end is not None:
            if end < start:
                raise InputError(f"{where}: finished_at {end} is before started_at {start}")
            if merged.get("duration_s") is None:
                changes["duration_s"] = (end - start).total_seconds()
            elif check_duration:
                check_iteration_duration(where, start, end, float(merged["duration_s"]))
        if not changes:
            return False
        row = {**ident, **{k: None for k in ITERATION_FIELDS}, **merged, **changes}
        if self.defer:
            # a row is the merge of all reported so far: the last one of a key holds it all
            if not old or cached in self._inserts:
                self._inserts[cached] = row
            else:
                self._updates[cached] = row
        elif not old:
            if self.conn.scalar(self.sql.iteration_insert, row) is None:
                # stored before (by another writer, or not in the cache): merge with it
                stored = self._stored_iteration(ident)
                if not stored:  # the clashing row went away again: never loop on it
                    raise ConflictError(f"{where} changed while being written; send it again")
                if self.cache is not None:
                    self._remember(cached, stored)
                return self.iteration(external_id, index, values, job=job)
        elif self.conn.execute(self.sql.iteration_update, row).rowcount == 0:
            # stored meanwhile with other values (by another writer): compare with them
            stored = self._stored_iteration(ident)
            if same_values(stored, old, ITERATION_FIELDS):  # nothing changed: never loop
                raise ConflictError(f"{where} changed while being written; send it again")
            if self.cache is not None:
                self._remember(cached, stored)
            return self.iteration(external_id, index, values, job=job)
        self._remember(cached, {k: row[k] for k in ITERATION_FIELDS})
        return True

    def _stored_iteration(self, ident: Mapping[str, Any]) -> dict[str, Any]:
        cur = self.conn.execute(self.sql.iteration, ident).first()
        return dict(zip(ITERATION_FIELDS, cur, strict=True)) if cur is not None else {}

    # ------------------------------------------------------------ hardware
    def hardware(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert hardware rows (columns of ``hardware_samples``) in one statement."""
        if self.defer:
            self._samples.extend(rows)
        elif rows:
            self.conn.execute(self.sql.hardware_insert, list(rows))
        return len(rows)

    def running_between(
        self, first: datetime, last: datetime
    ) -> list[tuple[int, datetime, datetime | None]]:
        """(id, start, end) of live executions running at some time in ``[first, last]``."""
        rows = self.conn.execute(
            self.sql.running_between, {"first": utc(first), "last": utc(last)}
        ).all()
        return [(int(i), utc(s), utc(f)) for i, s, f in rows]  # type: ignore[misc]


def _live(r: Sequence[Any]) -> LiveExecution:
    """An execution from a row of ``named``'s columns."""
    a = dict(r[7] or {})
    return LiveExecution(int(r[0]), str(r[1]), int(r[2]), utc(r[3]), utc(r[4]), r[5], r[6], a, r[8])
