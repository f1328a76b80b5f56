"""The `rpl` command: serve the app, run the demo, verify credentials, manage organisations."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from rpl.config import Settings
from rpl.errors import RplError

app = typer.Typer(
    help="rpl: recognition of prior learning, confirmed and signed.",
    no_args_is_help=True,
    add_completion=False,
)
org_app = typer.Typer(help="Manage the organisations registered here.", no_args_is_help=True)
app.add_typer(org_app, name="org")


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env().with_(**{k: v for k, v in overrides.items() if v is not None})
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

    from rpl.bootstrap import bootstrap
    from rpl.web.app import create_app

    default_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    settings = _settings()
    if not os.environ.get("RPL_PUBLIC_URL"):
        settings = settings.with_(public_url=default_url)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    container = bootstrap(settings)
    warm_up = getattr(container.runner, "warm_up", None)
    if warm_up:
        warm_up()
    typer.echo(f"rpl home: {settings.home}\nserving {settings.public_url}")
    try:
        uvicorn.run(create_app(container), host=host, port=port, log_level="info")
    finally:
        container.close()


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for credential.json and did.json.")] = Path(
        "demo-out"
    ),
    cryptosuite: Annotated[str, typer.Option(help="eddsa-rdfc-2022 or eddsa-jcs-2022.")] = (
        "eddsa-rdfc-2022"
    ),
) -> None:
    """Run the whole journey on a fresh embedded instance and write its results to OUT."""
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
) -> None:
    """Verify credentials. Exit 0 if all verified, 1 if any did not, 2 if any file was unusable."""
    from rpl.bootstrap import bootstrap
    from rpl.services.records import verify as verify_one

    logging.basicConfig(level=logging.WARNING)
    given = _did_documents(did or [])
    container = bootstrap(_settings(runner="inline"), network=not offline)
    resolver, now = container.resolver(), container.now()
    local = resolver.local
    resolver.local = lambda d: given.get(d) or local(d)
    worst = 0
    for path in files:
        try:
            source = path.read_bytes()
        except OSError as err:
            worst = 2
            _report(as_json, path, None, f"cannot read: {err.strerror or err}")
            continue
        result = verify_one(resolver, source, now)
        unusable = result.checks and result.checks[0].name == "json" and not result.checks[0].passed
        worst = max(worst, 2 if unusable else (0 if result.verified else 1))
        _report(as_json, path, result, None)
    container.close()
    raise typer.Exit(worst)


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
) -> None:
    """Register an organisation and create its signing key."""
    from rpl.bootstrap import bootstrap
    from rpl.organisations import Attester
    from rpl.services.organisations import (
        RegisterOrganisation,
        organisation_did,
        register_organisation,
    )

    container = bootstrap(_settings(runner="inline"), network=False)
    attesters = tuple(Attester(*(a.split("=", 1) + ["Attester"])[:2]) for a in attester or [])
    try:
        org = register_organisation(
            container.uow,
            container.master_key,
            RegisterOrganisation(name=name, domain=domain, url=url, slug=slug, attesters=attesters),
            container.now(),
        )
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"{org.slug}\t{organisation_did(container.settings.public_url, org)}")


@org_app.command("list")
def org_list() -> None:
    """List the organisations with their DIDs."""
    from rpl.bootstrap import bootstrap
    from rpl.services.organisations import organisation_did

    container = bootstrap(_settings(runner="inline"), network=False)
    with container.uow() as tx:
        for org in tx.orgs.list():
            did = organisation_did(container.settings.public_url, org)
            typer.echo(f"{org.slug}\t{org.name}\t{org.domain}\t{did}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
