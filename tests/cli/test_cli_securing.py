"""`rpl org add --securing`: an organisation that chose VC-JWT issues VC-JWTs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.cli import app
from rpl.organisations import Attester
from rpl.securing import is_jwt
from rpl.services import jobs, records
from tests.integration.test_issuance import confirmed_claims


@pytest.fixture
def env(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    s = container.settings
    monkeypatch.setenv("RPL_HOME", str(s.home))
    monkeypatch.setenv("RPL_DATABASE_URL", s.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", s.public_url)
    return container


def add(*extra: str) -> object:
    args = ["org", "add", "Riverside", "--domain", "riverside.example"]
    return CliRunner().invoke(app, [*args, "--url", "https://riverside.example", *extra])


def test_an_organisation_added_with_securing_jwt_issues_vc_jwts(env: Container) -> None:
    added = add("--securing", "jwt", "--verified-domain")
    assert added.exit_code == 0, added.output  # type: ignore[attr-defined]
    with env.uow() as tx:
        org = tx.orgs.by_slug("riverside")
    assert org.securing == "vc-jwt"
    with env.uow() as tx:  # the confirming coordinator is one of its attesters
        tx.orgs.add_attester(
            org.id, Attester("coordinator@stmarys.example", "Coordinator"), env.now()
        )
        tx.commit()
    ids = confirmed_claims(env, org, 2)
    jobs.issue_batch(env, ids)
    with env.uow() as tx:
        stored = [tx.credentials.by_claim(i) for i in ids]
    assert all(s is not None and is_jwt(s.document) for s in stored)
    checked = records.verify(env.resolver(), stored[0].document, env.now(), env.status_lists())  # type: ignore[union-attr]
    assert checked.verified, checked.errors


def test_an_unknown_securing_is_refused_before_anything_is_registered(env: Container) -> None:
    refused = add("--securing", "rsa")
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "securing 'rsa'" in refused.output  # type: ignore[attr-defined]
    with env.uow() as tx:
        assert [o.slug for o in tx.orgs.list()] == []
