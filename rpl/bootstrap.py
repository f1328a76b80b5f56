"""The composition root: settings in, real adapters out. The one module that imports everything.

Nothing is created at import time; the CLI (or a test) calls `bootstrap(settings)` and hands the
container down to the web app, the flows and the commands.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from rpl.config import Settings
from rpl.dids import DidResolver, fetch_did_web_over_https
from rpl.files import FileStore
from rpl.keys import load_or_create_master_key
from rpl.mail import Mailer, OutboxMailer, SmtpMailer
from rpl.obclient import ProviderHttp
from rpl.provider_http import HttpxProviderHttp, OfflineProviderHttp
from rpl.services import jobs
from rpl.services.organisations import local_did_lookup
from rpl.services.ports import FlowRunner
from rpl.services.status import StatusPublisher, local_status_lookup
from rpl.signer import key_store_from_settings
from rpl.status_fetch import StatusListSource, fetch_status_list_over_https
from rpl.storage.database import make_engine, migrate
from rpl.storage.unit_of_work import UnitOfWork

log = logging.getLogger("rpl")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    master_key: bytes
    mailer: Mailer
    files: FileStore
    runner: FlowRunner = field(init=False)
    network: bool = True
    # Where organisations' private keys are made and used (RPL_SIGNER): rpl.signer.KeyStore.
    keystore: Any = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def resolver(self) -> DidResolver:
        """A DID resolver answering for our organisations locally and for others over HTTPS."""
        return DidResolver(
            local=local_did_lookup(self.uow, self.settings.public_url),
            fetch_did_web=fetch_did_web_over_https() if self.network else None,
        )

    def status_publisher(self) -> StatusPublisher:
        """Signs and keeps our organisations' status lists."""
        return StatusPublisher(
            self.uow, jobs.keyring(self), self.settings.public_url, self.settings.cryptosuite
        )

    def status_lists(self) -> StatusListSource:
        """Status lists for the verifier: ours from the database, others' over HTTPS."""
        return StatusListSource(
            local=local_status_lookup(self.status_publisher(), self.now),
            fetch_remote=fetch_status_list_over_https() if self.network else None,
        )

    def provider_http(self) -> ProviderHttp:
        """HTTP to other Open Badges 3.0 providers (a holder's connections); offline: refused."""
        return HttpxProviderHttp.over_network() if self.network else OfflineProviderHttp()

    def now(self) -> datetime:
        return utcnow()

    def close(self) -> None:
        close = getattr(self.runner, "close", None)
        if close:
            close()
        close_keys = getattr(self.keystore, "close", None)
        if close_keys:
            close_keys()
        self.engine.dispose()


def prepare_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    # Prefect's ephemeral mode keeps its own database; keep it inside this instance's home so two
    # instances side by side do not share one.
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    # No network beyond our own machine is assumed: Prefect's telemetry would only fail and log.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The ephemeral server takes 6-12 s to start on a fresh home here, longer on a busy machine;
    # Prefect's default patience (20 s) was seen to run out under load.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def bootstrap(settings: Settings, runner: str | None = None, network: bool = True) -> Container:
    prepare_home(settings)
    engine = make_engine(settings.database_url)
    migrate(engine)
    container = Container(
        settings=settings,
        engine=engine,
        master_key=load_or_create_master_key(settings.master_key, settings.master_key_file),
        mailer=_mailer(settings),
        files=FileStore(settings.files_dir),
        network=network,
    )
    container.keystore = key_store_from_settings(settings, container.master_key)
    container.runner = make_runner(runner or settings.runner, container)
    return container


def _mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    return OutboxMailer(settings.outbox_dir, settings.smtp_sender)


def make_runner(kind: str, container: Container) -> Any:
    if kind == "inline":
        from rpl.services.runner import InlineRunner

        return InlineRunner(container)
    if kind == "deployments":
        from flows.deployments import DeploymentRunner

        return DeploymentRunner(container)
    from flows.runner import PrefectRunner

    return PrefectRunner(container)
