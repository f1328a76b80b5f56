"""Migration 0020: every status list keeps the count of its allocations, lists not yet
published included."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from rpl.storage.database import migrate
from tests.integration.test_accounts_migration import engine, upgrade_to

__all__ = ["engine"]  # the fixture, shared with the other migration test


def test_each_list_gets_the_count_of_its_allocations(engine: Engine) -> None:
    upgrade_to(engine, "0019")
    with engine.begin() as db:
        for org in ("o1", "o2"):
            db.execute(
                text(
                    "INSERT INTO organisation (id, slug, name, domain, url, created_at) VALUES "
                    f"('{org}', '{org}', 'Org {org}', '{org}.example', 'https://{org}.example', "
                    "'2020-01-01 00:00:00')"
                )
            )
        # o1 published its revocation list; nobody fetched o1's suspension list or o2's.
        db.execute(
            text(
                "INSERT INTO status_list (organisation_id, purpose, bits, version,"
                " document_version, document_length, updated_at)"
                " VALUES ('o1', 'revocation', :bits, 3, 0, 0, '2020-01-02 00:00:00')"
            ),
            {"bits": b"\x01" * 16_384},
        )
        allocations = [("o1", "revocation", i) for i in range(3)]
        allocations += [("o1", "suspension", i) for i in range(2)]
        allocations += [("o2", "revocation", 7)]
        for n, (org, purpose, index) in enumerate(allocations):
            db.execute(
                text(
                    "INSERT INTO status_allocation (organisation_id, purpose, status_index,"
                    " credential_id) VALUES (:org, :purpose, :index, :credential)"
                ),
                {"org": org, "purpose": purpose, "index": index, "credential": f"c{n}"},
            )

    migrate(engine)

    with engine.connect() as db:
        lists = db.execute(
            text(
                "SELECT organisation_id, purpose, allocated, version, length(bits)"
                " FROM status_list ORDER BY organisation_id, purpose"
            )
        ).all()
        published = db.execute(
            text(
                "SELECT bits FROM status_list WHERE organisation_id = 'o1' AND purpose = 'revocation'"
            )
        ).scalar_one()
    assert [tuple(row) for row in lists] == [
        ("o1", "revocation", 3, 3, 16_384),
        ("o1", "suspension", 2, 1, 16_384),
        ("o2", "revocation", 1, 1, 16_384),
    ]
    assert bytes(published) == b"\x01" * 16_384  # a published list keeps its bits
