"""Import throughput: a large accounts CSV through Bulkdesk's import, next to a plain
``pandas.read_csv`` + bulk insert of the same file, in one run, with each one's peak memory.

    .venv/bin/python benchmarks/import_throughput.py [--rows 1000000] [--postgres URL]

The file: ``--rows`` accounts rows, about 5% updating existing accounts (by Account ID), a
few hundred bad rows, the rest new accounts. Each side runs in its own fresh process (so its
peak RSS is its own) on its own fresh database, seeded with 50,000 accounts:

- **baseline**: ``pandas.read_csv`` of the whole file (text columns), then one bulk insert
  into a plain table of text columns: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite.
  No validation, no matching, nothing applied to accounts.
- **bulkdesk**: ``JobService.submit_import`` and the job worked in this process exactly as a
  worker works it (``execution.start``: headings, staging in pandas chunks, duplicates; then
  every chunk: validation, code checks, matching, creates and updates, outcomes, counters).

Prints rows/s and peak RSS for both, the ratio, and the machine's load average. The job's
chunks are ``--chunk-size`` items (default: a worker's, ``BULKDESK_CHUNK_SIZE``'s default).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEEDED = 50_000
HEADINGS = (
    "Account ID,First Name,Last Name,Birth Date,SSN,Client,Account Number,Email,Phone,State,"
    "Status,Balance,Creditor"
)


def make_file(path: Path, rows: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    first = "James Mary Robert Linda Wei Rosa Ahmed Olga Kwame Anita".split()
    last = "Smith Garcia Nguyen Okafor Novak Patel Rossi Kim Lopez Brown".split()
    clients = "ACME NWB GLBX INIT SMG BWU".split()
    states = "CA TX FL NY PA IL OH GA".split()
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADINGS + "\r\n")
        for n in range(1, rows + 1):
            r = rng.random()
            account_id = str(1 + int(rng.random() * SEEDED)) if r < 0.05 else ""
            balance = f"{rng.random() * 9000 + 10:.2f}" if r > 0.0003 else "n/a"
            birth = f"19{50 + n % 50:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}"
            f.write(
                f"{account_id},{rng.choice(first)},{rng.choice(last)},{birth},"
                f"{100 + n % 800:03d}-{10 + n % 89:02d}-{n % 10000:04d},{rng.choice(clients)},"
                f"{4000000000000000 + n},user{n}@example.com,+1-512-555-{n % 10000:04d},"
                f"{rng.choice(states)},Open,{balance},Bench Creditor\r\n"
            )


def fresh_database(postgres: str | None) -> str:
    from jobs.db import Database, upgrade
    from jobs.seed import seed

    if postgres:
        from sqlalchemy import create_engine, text

        name = f"bulkdesk_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = postgres.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bulkdesk-bench-')}/bench.db"
    upgrade(url)
    db = Database(url)
    seed(db, accounts=SEEDED)
    db.dispose()
    return url


def drop_database(url: str, postgres: str | None) -> None:
    if not postgres:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def run_baseline(url: str, path: Path) -> dict:
    import io

    import numpy as np
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url)
    columns = [c.strip().lower().replace(" ", "_") for c in HEADINGS.split(",")]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE plain_accounts (" + ", ".join(f"{c} TEXT" for c in columns) + ")"
        )
    start = time.perf_counter()
    # Text in Python strings, as pandas has them without pyarrow: with pyarrow installed (the
    # imports use it) ``dtype=str`` would be Arrow-backed, and turning those columns into the
    # rows of an executemany takes longer (SQLite's baseline: 54 s instead of 12 s).
    text = pd.StringDtype("python", na_value=np.nan)
    frame = pd.read_csv(path, dtype=text, keep_default_na=False)
    frame.columns = columns
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            buf = io.StringIO()
            frame.to_csv(buf, index=False, header=False)
            raw = conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(
                    f"COPY plain_accounts ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
                ) as copy,
            ):
                copy.write(buf.getvalue())
        else:
            marks = ", ".join("?" for _ in columns)
            conn.exec_driver_sql(
                f"INSERT INTO plain_accounts VALUES ({marks})",
                list(frame.itertuples(index=False, name=None)),
            )
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"rows": len(frame), "seconds": seconds}


def run_bulkdesk(url: str, path: Path, chunk_size: int) -> dict:
    os.environ["BULKDESK_IMPORTS_DIR"] = tempfile.mkdtemp(prefix="bulkdesk-bench-imports-")
    from jobs import runtime
    from jobs.config import Settings
    from jobs.db import Database
    from jobs.engine import execution
    from jobs.service import JobService

    db = Database(url)
    runtime.configure(Settings(database_url=url, chunk_size=chunk_size), db=db)
    service = JobService(db)
    start = time.perf_counter()
    job = service.submit_import("alice", "accounts", str(path))
    started = execution.start(db, job.id, chunk_size)
    staged = time.perf_counter() - start
    for chunk_id in started.chunks:
        execution.claim(db, chunk_id, "bench", 600)
        execution.process_chunk(db, chunk_id, "bench")
    seconds = time.perf_counter() - start
    task = service.import_task("alice", job.id)
    db.dispose()
    return {
        "rows": task.rows,
        "seconds": seconds,
        "staging_seconds": staged,
        "status": task.summary.status.label,
        "created": task.created,
        "updated": task.updated,
        "invalid": task.invalid,
        "no_match": task.no_match,
        "ambiguous": task.ambiguous,
    }


def child(mode: str, url: str, path: str, chunk_size: int) -> None:
    result = (
        run_baseline(url, Path(path))
        if mode == "baseline"
        else run_bulkdesk(url, Path(path), chunk_size)
    )
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    from dataclasses import fields

    from jobs.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", help="admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1/test"
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=next(f.default for f in fields(Settings) if f.name == "chunk_size"),
        help="items per chunk; default a worker's (BULKDESK_CHUNK_SIZE's default)",
    )
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.chunk_size)
        return
    work = Path(tempfile.mkdtemp(prefix="bulkdesk-bench-file-"))
    path = work / "accounts.csv"
    make_file(path, args.rows)
    size = path.stat().st_size
    print(f"{args.rows:,} rows, {size / 1e6:.0f} MB; load average {os.getloadavg()}")
    results = {}
    for mode in ("baseline", "bulkdesk"):
        url = fresh_database(args.postgres)
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--chunk-size",
                    str(args.chunk_size),
                    "--child",
                    mode,
                    url,
                    str(path),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            drop_database(url, args.postgres)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[mode]
        print(
            f"{mode:9s} {r['rows'] / r['seconds']:>10,.0f} rows/s  {r['seconds']:6.1f} s  "
            f"peak RSS {r['peak_rss_mb']:,.0f} MB  "
            + (
                ""
                if mode == "baseline"
                else json.dumps({k: r[k] for k in r if k not in ("rows", "seconds", "peak_rss_mb")})
            )
        )
    ratio = (results["bulkdesk"]["rows"] / results["bulkdesk"]["seconds"]) / (
        results["baseline"]["rows"] / results["baseline"]["seconds"]
    )
    print(f"bulkdesk / baseline throughput: {ratio:.2f}x; load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
