"""The `rpl` command: serve the app, run the demo, verify credentials, manage organisations."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rpl import cli_trust
from rpl.cli_connections import pull_connections
from rpl.cli_credit import demo_app
from rpl.cli_holder import holder_app
from rpl.cli_members import member_app
from rpl.cli_roster import bench_roster, roster_app
from rpl.cli_sweep import start_sweeps, sweep_app
from rpl.config import Settings
from rpl.errors import RplError

app = typer.Typer(
    help="rpl: recognition of prior learning, confirmed and signed.",
    no_args_is_help=True,
    add_completion=False,
)
org_app = typer.Typer(help="Manage the organisations registered here.", no_args_is_help=True)
app.add_typer(org_app, name="org")
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
bench_app = typer.Typer(
    help="Measure this machine: figures and ratios from one run.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
audit_app = typer.Typer(help="Check and read the tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
# Domain proof and re-issue after a key compromise (rpl/cli_trust.py) are `rpl org …` commands.
org_app.registered_commands += cli_trust.app.registered_commands
app.add_typer(sweep_app, name="sweep")
app.add_typer(holder_app, name="holder")
holder_app.command("pull")(pull_connections)  # rpl/cli_connections.py
app.add_typer(member_app, name="member")
app.add_typer(roster_app, name="roster")
app.add_typer(demo_app, name="demo")
bench_app.command("roster")(bench_roster)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env().with_(**{k: v for k, v in overrides.items() if v is not None})
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


def _boot(settings: Settings, network: bool = True) -> Any:
    """The composition root's container, or a plain error and exit 2 (e.g. an unusable database)."""
    from rpl.bootstrap import bootstrap

    try:
        return bootstrap(settings, network=network)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web app (the main job). Embedded default: SQLite and Prefect in RPL_HOME."""
    import os

    import uvicorn

    from rpl.web.app import create_app

    default_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    settings = _settings()
    if not os.environ.get("RPL_PUBLIC_URL"):
        settings = settings.with_(public_url=default_url)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from rpl.shutdown import exit_on_sigterm

    exit_on_sigterm()  # or SIGTERM skips the cleanup below and orphans Prefect's ephemeral server
    container = _boot(settings)
    warm_up = getattr(container.runner, "warm_up", None)
    if warm_up:
        warm_up()
    sweeps = start_sweeps(container)  # every RPL_SWEEP_MINUTES: reminders, expiries, stuck work
    typer.echo(f"rpl home: {settings.home}\nserving {settings.public_url}")
    try:
        uvicorn.run(create_app(container), host=host, port=port, log_level="info")
    finally:
        if sweeps:
            sweeps.stop()
        container.close()


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for credential.json and did.json.")] = Path(
        "demo-out"
    ),
    cryptosuite: Annotated[str, typer.Option(help="eddsa-rdfc-2022 or eddsa-jcs-2022.")] = (
        "eddsa-rdfc-2022"
    ),
) -> None:
    """Run the whole journey on a fresh embedded instance and write its results to OUT."""
    if ctx.invoked_subcommand is not None:  # `rpl demo credit`: that journey instead
        return
    from rpl.demo import run_demo

    logging.basicConfig(level=logging.WARNING)
    try:
        verified = run_demo(out, cryptosuite, echo=typer.echo)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    raise typer.Exit(0 if verified else 1)


@app.command()
def verify(
    files: Annotated[list[Path], typer.Argument(help="Credential files (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON result per line.")] = False,
    offline: Annotated[bool, typer.Option(help="Never fetch did:web documents.")] = False,
    did: Annotated[
        list[Path] | None,
        typer.Option(
            "--did", help="A DID document file to trust for its DID (e.g. a saved did.json)."
        ),
    ] = None,
    status_list: Annotated[
        list[Path] | None,
        typer.Option(
            "--status-list",
            help="A saved status list credential to use for its URL (its proof, issuer and "
            "validUntil are still checked).",
        ),
    ] = None,
) -> None:
    """Verify credentials. Exit 0 if all verified, 1 if any did not, 2 if any file was unusable."""
    from rpl.services.records import verify as verify_one

    logging.basicConfig(level=logging.WARNING)
    given = _did_documents(did or [])
    container = _boot(_settings(runner="inline"), network=not offline)
    resolver, now = container.resolver(), container.now()
    local = resolver.local
    resolver.local = lambda d: given.get(d) or local(d)
    lists = _with_saved_lists(container.status_lists(), status_list or [])
    worst = 0
    for path in files:
        try:
            source = path.read_bytes()
        except OSError as err:
            worst = 2
            _report(as_json, path, None, f"cannot read: {err.strerror or err}")
            continue
        result = verify_one(resolver, source, now, lists)
        unusable = result.checks and result.checks[0].name == "json" and not result.checks[0].passed
        worst = max(worst, 2 if unusable else (0 if result.verified else 1))
        _report(as_json, path, result, None)
    container.close()
    raise typer.Exit(worst)


def _with_saved_lists(lists: Any, paths: list[Path]) -> Any:
    """The container's status list source, answering first from saved status list credentials."""
    from rpl.jsonio import loads_strict
    from rpl.status import FetchedStatusList

    saved = {}
    for path in paths:
        try:
            document = loads_strict(path.read_bytes())
        except (OSError, RplError) as err:
            typer.echo(f"error: --status-list {path}: {err}", err=True)
            raise typer.Exit(2) from err
        if isinstance(document, dict) and isinstance(document.get("id"), str):
            saved[document["id"]] = document
    ours = lists.local
    lists.local = lambda url: FetchedStatusList(saved[url]) if url in saved else ours(url)
    return lists


def _did_documents(paths: list[Path]) -> dict[str, dict[str, object]]:
    from rpl.jsonio import loads_strict

    documents = {}
    for path in paths:
        try:
            document = loads_strict(path.read_bytes())
        except (OSError, RplError) as err:
            typer.echo(f"error: --did {path}: {err}", err=True)
            raise typer.Exit(2) from err
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            typer.echo(f"error: --did {path}: not a DID document (no id)", err=True)
            raise typer.Exit(2)
        documents[document["id"]] = document
    return documents


def _report(as_json: bool, path: Path, result: object, problem: str | None) -> None:
    if as_json:
        body = {"file": str(path), "verified": False, "checks": [], "errors": [problem]}
        if result is not None:
            body = {"file": str(path), **result.to_json()}  # type: ignore[attr-defined]
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return
    if result is None:
        typer.echo(f"{path}: UNUSABLE — {problem}")
        return
    verdict = "VERIFIED" if result.verified else "NOT VERIFIED"  # type: ignore[attr-defined]
    typer.echo(f"{path}: {verdict}")
    for check in result.checks:  # type: ignore[attr-defined]
        typer.echo(f"  {'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database (RPL_DATABASE_URL) to the newest migration; serve does this too."""
    from rpl.storage.database import make_engine, migrate

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        migrate(make_engine(settings.database_url))
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo("database is at the newest migration")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Argument(help="What the migration changes.")],
) -> None:
    """Write a new migration for model changes, compared against a scratch database."""
    import tempfile

    from alembic import command
    from alembic.config import Config

    from rpl.storage.database import MIGRATIONS, make_engine, migrate

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        migrate(engine)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True)
    typer.echo(f"review the new file under {MIGRATIONS / 'versions'} before committing it")


@bench_app.command("signing")
def bench_signing(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    credential: Annotated[
        Path | None,
        typer.Option(
            help="An unsigned credential (JSON) to sign instead of the built-in OB 3.0 one."
        ),
    ] = None,
    seconds: Annotated[float, typer.Option(help="Time spent measuring each figure.")] = 2.0,
) -> None:
    """Signing and verification rates per second, each suite against raw Ed25519 in one run."""
    from rpl import bench
    from rpl.jsonio import loads_strict

    document = None
    if credential is not None:
        try:
            document = loads_strict(credential.read_bytes())
        except (OSError, RplError) as err:
            typer.echo(f"error: {credential}: {err}", err=True)
            raise typer.Exit(2) from err
    try:
        figures = bench.signing_figures(document, seconds)
    except RplError as err:
        typer.echo(f"error: cannot sign {credential}: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(json.dumps(figures) if as_json else bench.format_figures(figures))


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="The organisation's name.")],
    domain: Annotated[str, typer.Option(help="Its internet domain, e.g. stmarys.example.")],
    url: Annotated[str, typer.Option(help="Its website.")],
    slug: Annotated[str | None, typer.Option(help="Short name in its URLs.")] = None,
    attester: Annotated[
        list[str] | None,
        typer.Option(help="An attester outside the domain, as EMAIL or EMAIL=Title; repeatable."),
    ] = None,
    securing: Annotated[
        str | None,
        typer.Option(
            help="jwt (VC-JOSE), eddsa-rdfc-2022 or eddsa-jcs-2022 (default: RPL_CRYPTOSUITE)."
        ),
    ] = None,
    verified_domain: Annotated[
        bool,
        typer.Option(
            "--verified-domain",
            help="For operators who checked the domain out of band (local use, demos): it may "
            "issue at once. Otherwise it proves its domain first (rpl org verify-domain).",
        ),
    ] = False,
) -> None:
    """Register an organisation and create its signing key."""
    from rpl.organisations import Attester
    from rpl.services.organisations import (
        RegisterOrganisation,
        organisation_did,
        register_organisation,
    )

    container = _boot(_settings(runner="inline"), network=False)
    attesters = tuple(Attester(*(a.split("=", 1) + ["Attester"])[:2]) for a in attester or [])
    try:
        if securing:  # refused before anything is registered
            from rpl.services.securing import mechanism_name

            mechanism_name(securing)
        org = register_organisation(
            container.uow,
            container.keystore,
            RegisterOrganisation(
                name=name,
                domain=domain,
                url=url,
                slug=slug,
                attesters=attesters,
                domain_verified=verified_domain,
            ),
            container.now(),
        )
        if securing:
            from rpl.services.securing import choose_securing

            org = choose_securing(container.uow, org.slug, securing, CLI_ACTOR, container.now())
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"{org.slug}\t{organisation_did(container.settings.public_url, org)}")


@org_app.command("list")
def org_list() -> None:
    """List the organisations with their DIDs."""
    from rpl.services.organisations import organisation_did

    container = _boot(_settings(runner="inline"), network=False)
    with container.uow() as tx:
        for org in tx.orgs.list():
            did = organisation_did(container.settings.public_url, org)
            typer.echo(f"{org.slug}\t{org.name}\t{org.domain}\t{did}")


CLI_ACTOR = "admin:cli"


@org_app.command("keys")
def org_keys(slug: Annotated[str, typer.Argument(help="The organisation's slug.")]) -> None:
    """List an organisation's signing keys: id, created, state (active, retired, compromised)."""
    from rpl.services.keys import list_keys

    container = _boot(_settings(runner="inline"), network=False)
    try:
        keys = list_keys(container.uow, slug)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    for key in keys:
        since = key.compromised_at or key.retired_at
        when = f"\t{since.isoformat()}" if since else ""
        typer.echo(f"{key.key_id}\t{key.created_at.isoformat()}\t{key.state}{when}")


@org_app.command("rotate-key")
def org_rotate_key(slug: Annotated[str, typer.Argument(help="The organisation's slug.")]) -> None:
    """Make a new signing key; the old one is retired but kept, so what it signed still verifies."""
    from rpl.services.keys import rotate_key

    container = _boot(_settings(runner="inline"), network=False)
    try:
        key_id = rotate_key(
            container.uow, container.keystore, slug, container.now(), actor=CLI_ACTOR
        )
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(key_id)


@org_app.command("compromise-key")
def org_compromise_key(
    slug: Annotated[str, typer.Argument(help="The organisation's slug.")],
    key_id: Annotated[str, typer.Argument(help="The key, e.g. key-1 (rotate it out first).")],
    reason: Annotated[str, typer.Option(help="Why; kept in the audit log.")],
) -> None:
    """Mark a retired key compromised and revoke every credential it signed; prints their ids."""
    from rpl.services.keys import compromise_key

    container = _boot(_settings(runner="inline"), network=False)
    try:
        report = compromise_key(
            container.status_publisher(), slug, key_id, reason, container.now(), actor=CLI_ACTOR
        )
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    for credential_id in report.revoked:
        typer.echo(f"{credential_id}\trevoked")
    for credential_id in report.already_revoked:
        typer.echo(f"{credential_id}\talready revoked")
    for credential_id, problem in report.failed.items():
        typer.echo(f"{credential_id}\tnot revoked: {problem}")
    if report.failed:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A head (HASH or SEQ:HASH) written down earlier, outside this database; "
            "the log must still hold it. Only this finds a cut end or a rewritten, rehashed tail.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every audit entry. Exit 0 if intact, 1 naming the first damage, 2 on bad input."""
    from rpl.audit import Anchor

    try:
        anchor = Anchor.parse(expect_head) if expect_head is not None else None
    except RplError as err:
        typer.echo(f"error: --expect-head: {err}", err=True)
        raise typer.Exit(2) from err
    container = _boot(_settings(runner="inline"), network=False)
    try:
        with container.uow() as tx:
            report = tx.audit.verify(anchor)
    finally:
        container.close()
    damage = report.damage
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
    elif damage is None:
        typer.echo(f"intact: {report.entries} entries; head {report.head}")
    else:
        where = f"entry {damage.seq}" if damage.seq is not None else "the log"
        typer.echo(f"DAMAGED at {where}: {damage.kind} — {damage.detail}")
    raise typer.Exit(0 if damage is None else 1)


@audit_app.command("show")
def audit_show(
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest entries.")] = 20,
) -> None:
    """Print the latest audit entries, oldest first: seq, time, kind, actor, subject, hash."""

    container = _boot(_settings(runner="inline"), network=False)
    try:
        with container.uow() as tx:
            for e in tx.audit.last(limit):
                typer.echo(f"{e.seq}\t{e.at}\t{e.kind}\t{e.actor}\t{e.subject}\t{e.hash[:16]}")
    finally:
        container.close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
