"""`python -m tests.postgres_check URL`: exit 0 if PostgreSQL answers at URL, else say why and exit 1."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
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


if __name__ == "__main__":
    problem = reachable(sys.argv[1])
    if problem:
        print(f"PostgreSQL is not reachable at {sys.argv[1]}: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"PostgreSQL answers at {sys.argv[1]}")
