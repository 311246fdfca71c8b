"""The schema comes from Alembic migrations, and they match the models on both databases."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from jobs.db import upgrade
from jobs.models import Base
from tests.conftest import PG_ADMIN_URL, require_postgres


def _modelled(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    """Everything but SQLite's full-text indexes of job descriptions and of accounts (FTS5
    virtual tables and their shadow tables, made by migrations 0011 and 0021, which no model
    describes)."""
    return not (type_ == "table" and name.startswith(("jobs_fts", "accounts_fts")))


def _for_dialect(dialect: str):  # type: ignore[no-untyped-def]
    """Leave out the models' indexes made on another database only (``ddl_if``)."""

    def include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
        only = getattr(obj, "_ddl_if", None)
        return not (type_ == "index" and only is not None and only.dialect not in (None, dialect))

    return include


def _differences(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_name": _modelled, "include_object": _for_dialect(conn.dialect.name)},
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_migrations_build_the_models_schema_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _differences(url) == []
    upgrade(url)  # running it again changes nothing


def test_migrations_build_the_models_schema_on_postgresql():
    require_postgres()
    name = f"bulkdesk_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        assert _differences(url) == []
        tables = set(inspect(create_engine(url)).get_table_names())
        assert {"accounts", "jobs", "job_items", "job_chunks", "audit_events"} <= tables
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("revision", ["base"])
def test_migrations_can_be_undone(tmp_path, revision):
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import jobs.db

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(jobs.db.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, revision)
    assert inspect(create_engine(url)).get_table_names() == ["alembic_version"]
