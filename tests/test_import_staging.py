"""An import's file is staged before its job's snapshot, a chunk per transaction: other work
writes between the chunks (on SQLite the snapshot's transaction holds the write lock), a
start redelivered after a crash mid-file stages each row once, and a job deleted while its
file is being staged leaves nothing behind. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from jobs.engine import execution
from jobs.imports import staging
from jobs.models import ImportRow, JobItem, Payment
from jobs.service import JobService
from jobs.status import JobStatus
from tests.imports_support import imports_home_fixture  # noqa: F401

ROWS = 2_500


def _file(folder: Path) -> Path:
    path = folder / "payments.csv"
    with path.open("w") as f:
        f.write("Account ID,Amount,Paid On,Status\n")
        for n in range(ROWS):
            f.write(f"{1 + n % 900},{10 + n % 50}.25,2026-11-{1 + n % 28:02d},posted\n")
    return path


@pytest.fixture
def importing(db, imports_home):  # type: ignore[no-untyped-def]
    """The database, no worker running (the test starts the job itself); the payments it
    imported are removed afterwards (PostgreSQL's database is shared by the session)."""
    yield db
    with db.write_conn() as conn:
        conn.execute(delete(Payment).where(Payment.job_id.is_not(None)))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Stage 1,000 rows at a time; the list records each chunk as it is read."""
    monkeypatch.setattr(staging, "CHUNK_ROWS", 1_000)
    seen: list[int] = []
    original = staging.read_chunks

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        for frame in original(*args, **kwargs):
            seen.append(len(frame))
            yield frame

    monkeypatch.setattr(staging, "read_chunks", counted)
    return seen


def _run(db, job_id: int) -> JobStatus:  # type: ignore[no-untyped-def]
    started = execution.start(db, job_id, 1_000)
    for chunk_id in started.chunks:
        assert execution.claim(db, chunk_id, "test", 600)
        print(execution.process_chunk(db, chunk_id, "test"))
    from jobs.models import Job

    with db.read() as s:
        print("status", s.get(Job, job_id).status, s.get(Job, job_id).error)
    print("svc", JobService(db).job("alice", job_id).summary.status)
    return JobService(db).job("alice", job_id).summary.status


def _staged(db, job_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        rows = s.scalar(select(func.count()).where(ImportRow.job_id == job_id))
        distinct = s.scalar(
            select(func.count(func.distinct(ImportRow.seq))).where(ImportRow.job_id == job_id)
        )
    return rows, distinct


def test_other_work_writes_between_the_chunks_of_a_file_being_staged(
    importing, tmp_path, small_chunks, monkeypatch
):
    db = importing
    service = JobService(db)
    job = service.submit_import("alice", "payments", str(_file(tmp_path)))
    others: list[int] = []
    original = staging.read_chunks

    def with_other_work(*args, **kwargs):  # type: ignore[no-untyped-def]
        for frame in original(*args, **kwargs):
            yield frame
            # Someone queues another import meanwhile: a write while the file is staged
            # (on SQLite this would wait for the write lock, then fail, were the file staged
            # in the snapshot's one transaction)
            others.append(service.submit_import("alice", "payments", str(_file(tmp_path))).id)

    monkeypatch.setattr(staging, "read_chunks", with_other_work)
    assert _run(db, job.id).is_final
    assert len(others) == 3  # one after each of the three chunks
    assert _staged(db, job.id) == (ROWS, ROWS)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(JobItem.job_id == job.id)) == ROWS
        assert s.scalar(select(func.count()).where(Payment.job_id == job.id)) > 0
    for other in others:
        service.delete("alice", other)


def test_a_start_redelivered_after_a_crash_mid_file_stages_each_row_once(
    importing, tmp_path, small_chunks, monkeypatch
):
    db = importing
    service = JobService(db)
    job = service.submit_import("alice", "payments", str(_file(tmp_path)))
    original = staging.read_chunks

    def crashing(*args, **kwargs):  # type: ignore[no-untyped-def]
        for n, frame in enumerate(original(*args, **kwargs)):
            if n == 2:
                raise RuntimeError("worker killed")
            yield frame

    monkeypatch.setattr(staging, "read_chunks", crashing)
    with pytest.raises(RuntimeError):
        execution.start(db, job.id, 1_000)
    # Two chunks staged and committed; the job is still Queued, so it will be started again
    assert _staged(db, job.id) == (2_000, 2_000)
    assert service.job("alice", job.id).summary.status is JobStatus.QUEUED

    monkeypatch.setattr(staging, "read_chunks", original)
    assert _run(db, job.id).is_final
    assert _staged(db, job.id) == (ROWS, ROWS)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(JobItem.job_id == job.id)) == ROWS
    assert (
        service.import_task("alice", job.id).imported + service.import_task("alice", job.id).invalid
        == ROWS
    )


def test_a_job_deleted_while_its_file_is_staged_leaves_nothing_behind(
    importing, tmp_path, small_chunks, monkeypatch
):
    db = importing
    service = JobService(db)
    job = service.submit_import("alice", "payments", str(_file(tmp_path)))
    original = staging.read_chunks

    def deleted_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        for n, frame in enumerate(original(*args, **kwargs)):
            yield frame
            if n == 0:
                service.delete("alice", job.id)

    monkeypatch.setattr(staging, "read_chunks", deleted_meanwhile)
    started = execution.start(db, job.id, 1_000)
    assert started.chunks == []
    assert _staged(db, job.id) == (0, 0)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(JobItem.job_id == job.id)) == 0
        assert s.scalar(select(func.count()).where(Payment.job_id == job.id)) == 0


def test_a_duplicate_start_while_the_file_is_staged_leaves_the_rows_to_the_start_that_won(
    importing, tmp_path, small_chunks, monkeypatch
):
    db = importing
    service = JobService(db)
    job = service.submit_import("alice", "payments", str(_file(tmp_path)))
    original = staging.read_chunks
    outcome: list[JobStatus] = []
    raced_once: list[bool] = []

    def raced(*args, **kwargs):  # type: ignore[no-untyped-def]
        for n, frame in enumerate(original(*args, **kwargs)):
            yield frame
            if n == 0 and not raced_once:
                raced_once.append(True)
                # A second start message is worked to the end meanwhile
                outcome.append(_run(db, job.id))

    monkeypatch.setattr(staging, "read_chunks", raced)
    first = execution.start(db, job.id, 1_000)

    # The first start gives way (nothing to send); the rows stay with the job that ran
    assert first.chunks == []
    assert outcome and outcome[0].is_final
    assert _staged(db, job.id) == (ROWS, ROWS)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(JobItem.job_id == job.id)) == ROWS
