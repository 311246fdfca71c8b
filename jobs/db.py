"""Engines and units of work for SQLite (embedded) and PostgreSQL (at scale)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Engine, String, cast, create_engine, event, literal
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement


class Database:
    """One database: an engine, and the two kinds of unit of work Bulkdesk uses.

    ``read()`` is for queries. ``write()`` is for changes; on SQLite it takes the write lock at
    ``BEGIN`` (``BEGIN IMMEDIATE``) so concurrent writers queue on the busy timeout instead of
    failing when a read transaction tries to upgrade.

    Parameters:
      url: a SQLAlchemy URL, ``sqlite:///path`` or ``postgresql+psycopg://…``.
    """

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            path = self.url.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                url, connect_args={"timeout": 60, "check_same_thread": False}
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._writer = self.engine.execution_options(bulkdesk_write=True)
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with self._read_sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits at the end, or rolls back whole on an error."""
        with self._write_sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def write_conn(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, for set-based statements."""
        with self._writer.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred only).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("bulkdesk_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def upgrade(db_or_url: Database | str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with Alembic."""
    from alembic import command
    from alembic.config import Config

    url = db_or_url.url if isinstance(db_or_url, Database) else make_url(db_or_url)
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    command.upgrade(cfg, revision)


class json_object(FunctionElement[Any]):  # noqa: N801  (an SQL function, named like one)
    """``json_object(k1, v1, k2, v2, …)`` on SQLite, ``json_build_object`` on PostgreSQL:
    a JSON object built in SQL, for set-based writes of per-item payloads."""

    type = JSON()
    inherit_cache = True
    name = "json_object"

    def __init__(self, *pairs: Any) -> None:
        # Text values as typed text: PostgreSQL cannot infer the type of a bare text
        # parameter given to json_build_object.
        super().__init__(*(cast(literal(p), String) if isinstance(p, str) else p for p in pairs))


@compiles(json_object)
def _json_object_sqlite(element: json_object, compiler: Any, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "postgresql")
def _json_object_postgresql(element: json_object, compiler: Any, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"
