"""Batch QA: grade imported real chats in the background — in the server, or in the foreground with
``simulator qa`` — surviving a restart.

A QA job (:mod:`simulator.store.jobs`) names an import; its work is the import's conversations that have no grade
yet. :class:`QaRunner` claims a job, then grades batch after batch — each conversation with ``engine.grade``
and no scenario, exactly as ``simulator grade`` does — and stores each batch's grades and analytics rows in one
transaction with the job's progress. Killed half-way, the job is claimed again (at the next start, or by another
instance once the lease runs out) and continues with what is still ungraded: nothing is graded twice, nothing is
lost. A conversation the grader fails on is recorded in the job (``params.failed``) and not retried.

``workers`` > 1 grades in that many processes (each loads its own embedder and knowledge index, ~0.4 GB); the
process that claimed the job writes. :class:`Background` is the server's loop: QA jobs, then the xAPI outbox.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from simulator.analytics.attempts import record_grade
from simulator.analytics.importer import QA_JOB
from simulator.analytics.xapi import Sender
from simulator.grading.result import Grade
from simulator.settings import Settings
from simulator.store.grades import GradeRecord, save_grade
from simulator.store.imports import RealChat
from simulator.store.jobs import Job, JobStatus, claim_job, finish_job, get_job, heartbeat, pending_jobs, worker_name
from simulator.store.sessions import SessionRecord, TurnRecord, to_session
from simulator.transcript import Transcript

if TYPE_CHECKING:
    from simulator.engine import Engine

log = logging.getLogger("simulator.qa")

Progress = Callable[[Job], None]


# ---------------------------------------------------------------------------------------------------------
# Grading in worker processes


_worker_engine: Engine | None = None


def _init_worker(settings_json: str) -> None:
    """Build this process's grading engine (knowledge base when built, as ``simulator grade`` does)."""
    global _worker_engine
    from simulator.engine import Engine

    settings = Settings.model_validate_json(settings_json)
    engine = Engine(settings)
    if engine.knowledge_base() is None:
        engine = Engine(settings, knowledge_index=False)
    _worker_engine = engine


def _grade_in_worker(items: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any] | str]]:
    """(the grader's version, each transcript's grade as a dict or the error as text)."""
    assert _worker_engine is not None
    out: list[dict[str, Any] | str] = []
    for item in items:
        try:
            out.append(_worker_engine.grade(Transcript.model_validate(item)).to_dict())
        except Exception as exc:  # one bad conversation must not stop the job
            out.append(f"{type(exc).__name__}: {exc}")
    return _worker_engine.grader().version, out


def grading_pool(settings: Settings, workers: int) -> ProcessPoolExecutor:
    """``workers`` processes that grade transcripts (the caller shuts it down)."""
    # Spawned, not forked: a forked child inherits chromadb's (Rust) runtime with its locks held by threads that
    # do not exist in the child, and hangs opening the knowledge index.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(settings.model_dump_json(),),
    )


# ---------------------------------------------------------------------------------------------------------
# The runner


class QaRunner:
    """Runs QA jobs with ``engine`` (its store, settings and grader).

    Args:
        engine: The engine.
        pool: Worker processes to grade in (:func:`grading_pool`); None = in this thread with the engine's grader.
        batch: Conversations per transaction.
        worker: This runner's name in the job row (default ``host:pid``).
    """

    def __init__(self, engine: Engine, *, pool: Executor | None = None, batch: int = 40, worker: str | None = None):
        self.engine = engine
        self.pool = pool
        self.workers = getattr(pool, "_max_workers", 1) if pool is not None else 1
        self.batch = batch
        self.worker = worker or worker_name()
        self._version = ""

    def run(
        self,
        job_id: int | None = None,
        *,
        on_progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        limit: int | None = None,
    ) -> Job | None:
        """Claim a job (the given one, or the oldest waiting) and work on it until it is done, ``should_stop``
        says so, or ``limit`` conversations were graded (then the job stays claimable). Returns the job as it
        was left, or None when there was nothing to claim."""
        db = self.engine.store
        with db.write() as s:
            job = claim_job(s, self.worker, job_id=job_id)
            if job is None:
                return None
            jid, import_id = job.id, job.import_id
            failed = {str(x) for x in (job.params or {}).get("failed", [])}
        done = self._graded_count(import_id)
        graded_now = 0
        while True:
            if should_stop() or (limit is not None and graded_now >= limit):
                self._release(jid)
                break
            size = self.batch * self.workers
            if limit is not None:
                size = min(size, limit - graded_now)
            ids = self._ungraded(import_id, failed, size)
            if not ids:
                with db.write() as s:
                    finish_job(s, jid)
                break
            results = self._grade(self._transcripts(ids))
            with db.write() as s:
                for sid, (transcript, outcome) in results.items():
                    if isinstance(outcome, str):
                        failed.add(sid)
                        log.warning("QA job %s: grading %s failed: %s", jid, sid, outcome)
                        continue
                    save_grade(s, sid, outcome, grader_version=self.version)
                    row = s.get(SessionRecord, sid)
                    if row is not None:
                        record_grade(s, row=row, transcript=transcript, grade=outcome, settings=self.engine.settings)
                    done += 1
                    graded_now += 1
                job_row = s.get(Job, jid)
                if job_row is not None:
                    job_row.params = {**(job_row.params or {}), "failed": sorted(failed)}
                if not heartbeat(s, jid, self.worker, done=done, failed=len(failed)):
                    log.warning("QA job %s was taken over by another worker; stopping", jid)
                    break
            if on_progress is not None:
                with db.read() as s:
                    snapshot = get_job(s, jid)
                if snapshot is not None:
                    on_progress(snapshot)
        with db.read() as s:
            return get_job(s, jid)

    def run_all(self, *, on_progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Run every waiting job in turn; returns how many were worked on."""
        n = 0
        while not should_stop():
            job = self.run(on_progress=on_progress, should_stop=should_stop)
            if job is None:
                break
            n += 1
        return n

    @property
    def version(self) -> str:
        """The grader's version, stored with each grade."""
        return self.engine.grader().version if self.pool is None else self._version

    # -- the work ------------------------------------------------------------------------------------------

    def _graded_count(self, import_id: int | None) -> int:
        with self.engine.store.read() as s:
            q = (
                select(func.count())
                .select_from(RealChat)
                .join(GradeRecord, GradeRecord.session_id == RealChat.session_id)
                .where(RealChat.import_id == import_id)
            )
            return int(s.scalar(q) or 0)

    def _ungraded(self, import_id: int | None, failed: set[str], n: int) -> list[str]:
        with self.engine.store.read() as s:
            q = (
                select(RealChat.session_id)
                .outerjoin(GradeRecord, GradeRecord.session_id == RealChat.session_id)
                .where(RealChat.import_id == import_id, GradeRecord.id.is_(None))
                .order_by(RealChat.session_id)
            )
            if failed:
                q = q.where(RealChat.session_id.not_in(sorted(failed)))
            return list(s.scalars(q.limit(n)))

    def _transcripts(self, ids: Sequence[str]) -> dict[str, Transcript]:
        """The conversations' transcripts, read in two queries."""
        with self.engine.store.read() as s:
            rows = {r.id: r for r in s.scalars(select(SessionRecord).where(SessionRecord.id.in_(list(ids))))}
            turns: dict[str, list[TurnRecord]] = {sid: [] for sid in rows}
            q = (
                select(TurnRecord)
                .where(TurnRecord.session_id.in_(list(ids)))
                .order_by(TurnRecord.session_id, TurnRecord.seq)
            )
            for t in s.scalars(q):
                turns[t.session_id].append(t)
        out: dict[str, Transcript] = {}
        for sid, row in rows.items():
            session = to_session(row, turns[sid])
            out[sid] = session.transcript(complete=True)
        return out

    def _grade(self, transcripts: dict[str, Transcript]) -> dict[str, tuple[Transcript, Grade | str]]:
        items = list(transcripts.items())
        if self.pool is None:
            out: dict[str, tuple[Transcript, Grade | str]] = {}
            for sid, t in items:
                try:
                    out[sid] = (t, self.engine.grade(t))
                except Exception as exc:
                    out[sid] = (t, f"{type(exc).__name__}: {exc}")
            return out
        chunks = [items[i :: self.workers] for i in range(self.workers)]
        futures = [
            self.pool.submit(_grade_in_worker, [t.model_dump(mode="json") for _, t in chunk])
            for chunk in chunks
            if chunk
        ]
        results: dict[str, tuple[Transcript, Grade | str]] = {}
        for chunk, fut in zip([c for c in chunks if c], futures, strict=True):
            version, graded = fut.result()
            self._version = version
            for (sid, t), res in zip(chunk, graded, strict=True):
                results[sid] = (t, res if isinstance(res, str) else Grade.from_dict(res))
        return results

    def _release(self, job_id: int) -> None:
        """Stopped on purpose: give the job back at once (no lease to wait out)."""
        with self.engine.store.write() as s:
            job = s.get(Job, job_id)
            if job is not None and job.worker == self.worker and not job.finished:
                job.status = JobStatus.QUEUED.value
                job.worker = None


def queue_regrade(engine: Engine, import_id: int, *, created_by: int | None = None) -> int:
    """Queue grading an import's ungraded conversations again (e.g. after a failure); returns the job id."""
    from simulator.store.jobs import create_job

    with engine.store.write() as s:
        n = s.scalar(select(func.count()).select_from(RealChat).where(RealChat.import_id == import_id)) or 0
        return create_job(s, QA_JOB, import_id=import_id, total=int(n), created_by=created_by).id


# ---------------------------------------------------------------------------------------------------------
# The server's background loop


class Background:
    """In the server: run QA jobs and send xAPI statements, every ``interval`` seconds, on one thread."""

    def __init__(self, engine: Engine, *, interval: float = 2.0, sender: Sender | None = None):
        self.engine = engine
        self.interval = interval
        self.runner = QaRunner(engine)
        self.sender = sender or Sender(engine.store, engine.settings)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        """One round: every waiting QA job, then the statements due."""
        jobs = self.runner.run_all(should_stop=self._stop.is_set)
        sent = self.sender.flush()
        return {"jobs": jobs, **sent}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("background work failed; trying again")
            self._wake.wait(self.interval)
            self._wake.clear()

    def wake(self) -> None:
        """Start the next round now (a new QA job was queued)."""
        self._wake.set()

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="analytics", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current batch (a running job is given back)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def pending(self) -> int:
        """QA jobs waiting or running."""
        with self.engine.store.read() as s:
            return len(pending_jobs(s))


def wait_for_jobs(engine: Engine, timeout: float = 30.0) -> bool:
    """Wait until no QA job is waiting or running (tests, the demo)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.store.read() as s:
            if not pending_jobs(s):
                return True
        time.sleep(0.1)
    return False
