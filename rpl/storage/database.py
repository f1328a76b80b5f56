"""Engine creation and schema set-up for SQLite (embedded) and PostgreSQL (distributed).

The schema is owned by Alembic migrations (`rpl/storage/migrations/`); `migrate` brings a database
to the newest revision at start-up. A test checks that the migrations build exactly the tables the
models declare, so a model change without its migration fails CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from rpl.errors import RplError

# Imported for their tables, which register themselves with the metadata.
from rpl.storage import (  # noqa: F401
    accounts,
    audit,
    credit,
    domain_proof,
    holdings,
    intents,
    oid4vci,
    roster,
    status,
    tables,
)

METADATA = SQLModel.metadata
MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: PostgreSQL's advisory lock that keeps two starting processes from migrating at once.
_MIGRATION_LOCK = 7_302_115


class SchemaError(RplError):
    """The database's schema cannot be brought up to date."""


SQLITE_PAGE_SIZE = 8192


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Set before the first table is made, so only a new database takes it (an existing one
    # keeps its own). A credential's row is ~2.9 KB: one to a 4 KiB page, 1.2 KB of it left
    # empty; two to an 8 KiB page. A 200,000-row direct import ran ~5% faster with it
    # (`rpl bench roster --runner inline`, alternated runs).
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL lets readers go on while one writer commits; foreign keys are off in SQLite by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest migration (a no-op when it is already there)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        names = set(inspect(connection).get_table_names())
        if "claim" in names and "alembic_version" not in names:
            raise SchemaError(
                f"the database at {engine.url.render_as_string(hide_password=True)} was created "
                "before rpl had migrations; move it aside (nothing released used it) and start again"
            )
        config.attributes["connection"] = connection
        # "heads": features land as branches off one another and are merged by a later revision.
        command.upgrade(config, "heads")


def drop_schema(engine: Engine) -> None:
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
