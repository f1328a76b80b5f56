"""`python -m tests.postgres_check URL`: exit 0 if PostgreSQL answers at URL, else say why and exit 1."""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError


def reachable(url: str) -> str | None:
    """None when a query succeeds at `url`, else the reason it did not."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except SQLAlchemyError as err:
        return str(err.orig or err).strip().splitlines()[0]
    return None


def for_this_worker(url: str) -> str:
    """`url`, or under pytest-xdist a database of this worker's own beside it (created if missing).

    Tests start from a dropped schema: two workers sharing one database would drop each other's.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    own = parsed.set(database=f"{parsed.database}_{worker}")
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("select 1 from pg_database where datname = :name"), {"name": own.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    engine.dispose()
    return own.render_as_string(hide_password=False)


if __name__ == "__main__":
    problem = reachable(sys.argv[1])
    if problem:
        print(f"PostgreSQL is not reachable at {sys.argv[1]}: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"PostgreSQL answers at {sys.argv[1]}")
