"""`rpl member add|list|remove` and `rpl org add --attester`: members from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rpl.bootstrap import Container
from rpl.cli import app
from rpl.organisations import Organisation
from rpl.services import members


@pytest.fixture
def env(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    s = container.settings
    monkeypatch.setenv("RPL_HOME", str(s.home))
    monkeypatch.setenv("RPL_DATABASE_URL", s.database_url)
    monkeypatch.setenv("RPL_PUBLIC_URL", s.public_url)
    return container


def test_the_operator_names_an_admin_then_removes_them(
    env: Container, hospital: Organisation
) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "member",
            "add",
            "st-marys",
            "Boss@Outside.example",
            "--role",
            "admin",
            "--title",
            "Head of HR",
        ],
    )
    assert added.exit_code == 0, added.output
    membership_id = int(added.output.split("\t")[0])
    listed = runner.invoke(app, ["member", "list", "st-marys"])
    assert "boss@outside.example\tadmin\tHead of HR\tactive" in listed.output
    assert "registrar@outside.example\tattester\tRegistrar\tactive" in listed.output
    refused = runner.invoke(app, ["member", "remove", "st-marys", str(membership_id)])
    assert refused.exit_code == 1 and "say why" in refused.output
    removed = runner.invoke(
        app, ["member", "remove", "st-marys", str(membership_id), "--reason", "left"]
    )
    assert removed.exit_code == 0, removed.output
    [boss] = [
        m
        for m in members.list_members(env.uow, hospital, True)
        if m.email == "boss@outside.example"
    ]
    assert boss.removed_at is not None and boss.removal_reason == "left"
    assert runner.invoke(app, ["member", "add", "nowhere", "x@y.example"]).exit_code == 1


def test_org_add_lists_attesters_as_attester_memberships(env: Container) -> None:
    answer = CliRunner().invoke(
        app,
        [
            "org",
            "add",
            "Food Bank",
            "--domain",
            "foodbank.example",
            "--url",
            "https://foodbank.example",
            "--attester",
            "Coord@Elsewhere.example=Coordinator",
        ],
    )
    assert answer.exit_code == 0, answer.output
    with env.uow() as tx:
        org = tx.orgs.by_slug("food-bank")
        [m] = tx.members.of_organisation(org.id)
        assert [a.email for a in tx.orgs.attesters(org.id)] == ["coord@elsewhere.example"]
    assert (m.email, m.role.value, m.title) == (
        "coord@elsewhere.example",
        "attester",
        "Coordinator",
    )
