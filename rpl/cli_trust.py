"""`rpl org verify-domain | show-challenge | reissue`: domain proof and re-issue after compromise.

Registered onto the `org` group by one line in rpl/cli.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rpl.errors import RplError

app = typer.Typer(no_args_is_help=True)
CLI_ACTOR = "admin:cli"
Slug = Annotated[str, typer.Argument(help="The organisation's slug.")]


def _container() -> Any:
    from rpl.cli import _boot, _settings

    return _boot(_settings(runner="inline"), network=False)


def _fail(err: RplError) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(2)


@app.command("show-challenge")
def show_challenge(slug: Slug) -> None:
    """What to publish to prove the organisation's domain: a DNS TXT record or a file."""
    from rpl.services import domain_proof

    container = _container()
    try:
        challenge = domain_proof.show_challenge(container.uow, slug, container.now())
    except RplError as err:
        raise _fail(err) from err
    typer.echo(f"token\t{challenge.token}")
    typer.echo(f"dns\t{challenge.dns_name}\tTXT\t{challenge.token}")
    typer.echo(f"http\t{challenge.url}")


@app.command("verify-domain")
def verify_domain(
    slug: Slug,
    method: Annotated[
        str, typer.Option(help="dns (TXT record) or http (.well-known file).")
    ] = "dns",
) -> None:
    """Check the published token; on success the organisation may issue, and claims confirmed
    meanwhile are issued now. Exit 1 if the domain is not proved."""
    from rpl.domain_lookup import DomainLookups
    from rpl.services import domain_proof

    container = _container()
    try:
        result = domain_proof.verify_domain(
            container.uow,
            container.runner,
            DomainLookups(),
            slug,
            method,
            container.now(),
            CLI_ACTOR,
        )
    except RplError as err:
        raise _fail(err) from err
    typer.echo(f"{'proved' if result.outcome.proved else 'not proved'}: {result.outcome.detail}")
    if result.resumed:
        typer.echo(f"issuing {len(result.resumed)} claim(s) confirmed while it was unproved")
    if result.verified_at is None:
        raise typer.Exit(1)


@app.command("reissue")
def reissue(
    slug: Slug,
    key_id: Annotated[
        str, typer.Option("--key", help="The compromised key, e.g. key-1 (mark it first).")
    ],
) -> None:
    """Re-issue, with the active key, every credential the compromised key signed; prints
    `OLD<TAB>reissued as NEW` per credential. Safe to repeat. Exit 1 if any failed."""
    from rpl.services.issuance import IssuePolicy
    from rpl.services.reissue import reissue_compromised

    container = _container()
    settings = container.settings
    try:
        report = reissue_compromised(
            container.status_publisher(),
            container.mailer,
            IssuePolicy(settings.cryptosuite, settings.status_purposes),
            slug,
            key_id,
            container.now(),
            CLI_ACTOR,
            batch_size=settings.issue_batch_size,
        )
    except RplError as err:
        raise _fail(err) from err
    for old, new in report.reissued.items():
        typer.echo(f"{old}\treissued as {new}")
    for old, new in report.already_reissued.items():
        typer.echo(f"{old}\talready reissued as {new}")
    for old, why in report.skipped.items():
        typer.echo(f"{old}\tnot reissued: {why}")
    for old, problem in report.failed.items():
        typer.echo(f"{old}\tfailed: {problem}")
    if report.failed:
        raise typer.Exit(1)
