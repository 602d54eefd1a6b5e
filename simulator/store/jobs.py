"""Background jobs kept in the database: batch QA grading of imported chats (kind ``qa``).

A job is a row; its work is found from the data (the conversations of its import that have no grade yet), so a
job interrupted by a crash or a restart resumes where it stopped and never grades a conversation twice. A
worker claims a job by writing its name and a heartbeat; a job whose heartbeat is older than
:data:`LEASE_SECONDS` — or whose worker was a process on this machine that no longer exists — may be claimed by
another worker. Why not a task-queue library: docs/analytics.md ("Batch QA").
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.session import as_utc
from simulator.store.schema import Base, JsonType, utcnow

LEASE_SECONDS = 60


class JobStatus(StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """One background job."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value, index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), nullable=True, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def finished(self) -> bool:
        """Done or failed."""
        return self.status in (JobStatus.DONE.value, JobStatus.FAILED.value)

    @property
    def percent(self) -> int:
        """0–100."""
        return 100 if self.total <= 0 else min(100, round(100 * (self.done + self.failed) / self.total))


def worker_name() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(worker: str | None) -> bool:
    """The worker was a process on this machine that is gone (killed, restarted)."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def create_job(
    s: Session,
    kind: str,
    *,
    import_id: int | None = None,
    total: int = 0,
    created_by: int | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Queue a job."""
    job = Job(kind=kind, import_id=import_id, total=total, created_by=created_by, params=params or {})
    s.add(job)
    s.flush()
    return job


def claim_job(s: Session, worker: str, *, job_id: int | None = None, now: datetime | None = None) -> Job | None:
    """Take the oldest job that is queued, or running under a worker that stopped (the lease ran out or its process
    on this machine is gone); None when there is none. Call inside a write transaction."""
    now = now or utcnow()
    stale = now - timedelta(seconds=LEASE_SECONDS)
    q = select(Job.id).where(Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])).order_by(Job.id)
    if job_id is not None:
        q = q.where(Job.id == job_id)
    for jid in list(s.scalars(q)):
        # One row at a time: a job another worker is claiming right now is skipped, not waited for.
        job = s.scalar(select(Job).where(Job.id == jid).with_for_update(skip_locked=True))
        if job is None or job.status not in (JobStatus.QUEUED.value, JobStatus.RUNNING.value):
            continue
        if job.status == JobStatus.RUNNING.value and job.worker != worker:
            beat = as_utc(job.heartbeat_at) if job.heartbeat_at else None
            if beat is not None and beat > stale and not _dead_here(job.worker):
                continue
        job.status = JobStatus.RUNNING.value
        job.worker = worker
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        s.flush()
        return job
    return None


def heartbeat(s: Session, job_id: int, worker: str, *, done: int, failed: int) -> bool:
    """Record progress; False when the job is no longer this worker's (another took it over)."""
    job = s.get(Job, job_id, with_for_update=True)
    if job is None or job.worker != worker or job.status != JobStatus.RUNNING.value:
        return False
    job.done = done
    job.failed = failed
    job.heartbeat_at = utcnow()
    return True


def finish_job(s: Session, job_id: int, *, error: str = "") -> None:
    """Mark a job done (or failed, with the error)."""
    job = s.get(Job, job_id)
    if job is None:
        return
    job.status = JobStatus.FAILED.value if error else JobStatus.DONE.value
    job.error = error[:2000]
    job.finished_at = utcnow()
    job.worker = None


def get_job(s: Session, job_id: int) -> Job | None:
    """The job with this id."""
    return s.get(Job, job_id)


def pending_jobs(s: Session) -> Sequence[Job]:
    """Jobs not finished yet, oldest first."""
    q = select(Job).where(or_(Job.status == JobStatus.QUEUED.value, Job.status == JobStatus.RUNNING.value))
    return s.scalars(q.order_by(Job.id)).all()


def jobs_of_import(s: Session, import_id: int) -> Sequence[Job]:
    """An import's jobs, newest first."""
    return s.scalars(select(Job).where(Job.import_id == import_id).order_by(Job.id.desc())).all()
