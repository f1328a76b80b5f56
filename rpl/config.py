"""Settings from `RPL_…` environment variables, read once by the composition root.

Nothing here runs at import time: `Settings.from_env()` is called by the CLI (or a test) and the result
is handed down. `RPL_HOME` holds everything the embedded default keeps on disk, so two instances with
different homes run side by side.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from rpl.errors import RplError

CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
# prefect: flow runs in the app's process (embedded default); deployments: flow runs of Prefect
# deployments on a Prefect server, picked up by workers (the distributed set-up in infra/).
RUNNERS = ("prefect", "inline", "deployments")


class SettingsError(RplError):
    """A setting has a value rpl cannot use."""


def default_home(env: Mapping[str, str]) -> Path:
    """The per-user data folder: `$XDG_DATA_HOME/rpl`, else `~/.local/share/rpl`."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rpl"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    public_url: str = "http://127.0.0.1:8000"
    master_key: str | None = None
    cryptosuite: str = "eddsa-rdfc-2022"
    runner: str = "prefect"
    issue_batch_size: int = 2000
    max_upload_bytes: int = 10 * 1024 * 1024
    link_ttl_days: int = 30
    # The sweep reminds an attester silent this many days (once per period), and runs every
    # RPL_SWEEP_MINUTES under `rpl serve` (0: not scheduled; `rpl sweep` runs it once).
    remind_after_days: int = 7
    sweep_minutes: int = 60
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "rpl@localhost"
    admin_token: str | None = None
    status_purposes: tuple[str, ...] = ("revocation",)
    # A Dask scheduler (tcp://host:8786) for signing batches; None: a local cluster when distributed.
    dask_address: str | None = None
    # Who holds the organisations' private keys: "local" (sealed under the master key) or
    # "pkcs11" (generated on a PKCS#11 token; see rpl/pkcs11_signer.py).
    signer: str = "local"
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = None
    session_days: int = 14
    # Life of an access token of the Open Badges 3.0 API (refresh tokens live until revoked).
    oauth_access_minutes: int = 60
    # Rate limits as "N/SECONDS": at most N tries per client address, and per target (an email
    # address, a link), in any window of SECONDS.
    rate_sign_in: str = "5/900"
    rate_links: str = "20/300"
    rate_verify: str = "60/60"
    rate_oauth: str = "60/60"
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("RPL_HOME") or default_home(env)).expanduser()
        settings = cls(
            home=home,
            database_url=env.get("RPL_DATABASE_URL") or f"sqlite:///{home / 'rpl.db'}",
            public_url=(env.get("RPL_PUBLIC_URL") or cls.public_url).rstrip("/"),
            master_key=env.get("RPL_MASTER_KEY") or None,
            cryptosuite=env.get("RPL_CRYPTOSUITE") or cls.cryptosuite,
            runner=env.get("RPL_RUNNER") or cls.runner,
            issue_batch_size=_int(env, "RPL_ISSUE_BATCH_SIZE", cls.issue_batch_size),
            max_upload_bytes=_int(env, "RPL_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            link_ttl_days=_int(env, "RPL_LINK_TTL_DAYS", cls.link_ttl_days),
            remind_after_days=_int(env, "RPL_REMIND_AFTER_DAYS", cls.remind_after_days),
            sweep_minutes=_int(env, "RPL_SWEEP_MINUTES", cls.sweep_minutes),
            smtp_host=env.get("RPL_SMTP_HOST") or None,
            smtp_port=_int(env, "RPL_SMTP_PORT", cls.smtp_port),
            smtp_sender=env.get("RPL_SMTP_SENDER") or cls.smtp_sender,
            admin_token=env.get("RPL_ADMIN_TOKEN") or None,
            session_days=_int(env, "RPL_SESSION_DAYS", cls.session_days),
            oauth_access_minutes=_int(env, "RPL_OAUTH_ACCESS_MINUTES", cls.oauth_access_minutes),
            rate_sign_in=env.get("RPL_RATE_SIGN_IN") or cls.rate_sign_in,
            rate_links=env.get("RPL_RATE_LINKS") or cls.rate_links,
            rate_verify=env.get("RPL_RATE_VERIFY") or cls.rate_verify,
            rate_oauth=env.get("RPL_RATE_OAUTH") or cls.rate_oauth,
            status_purposes=_purposes(env.get("RPL_STATUS_PURPOSES")),
            signer=env.get("RPL_SIGNER") or cls.signer,
            pkcs11_module=env.get("RPL_PKCS11_MODULE") or None,
            pkcs11_token_label=env.get("RPL_PKCS11_TOKEN_LABEL") or None,
            pkcs11_pin=env.get("RPL_PKCS11_PIN") or None,
            dask_address=env.get("RPL_DASK_ADDRESS") or None,
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.cryptosuite not in CRYPTOSUITES:
            raise SettingsError(f"RPL_CRYPTOSUITE={self.cryptosuite!r}: use one of {CRYPTOSUITES}")
        if self.runner not in RUNNERS:
            raise SettingsError(f"RPL_RUNNER={self.runner!r}: use one of {RUNNERS}")
        if not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(f"RPL_PUBLIC_URL={self.public_url!r}: must start with http(s)://")
        for name, value in (
            ("RPL_ISSUE_BATCH_SIZE", self.issue_batch_size),
            ("RPL_MAX_UPLOAD_BYTES", self.max_upload_bytes),
            ("RPL_LINK_TTL_DAYS", self.link_ttl_days),
            ("RPL_REMIND_AFTER_DAYS", self.remind_after_days),
            ("RPL_SESSION_DAYS", self.session_days),
            ("RPL_OAUTH_ACCESS_MINUTES", self.oauth_access_minutes),
        ):
            if value < 1:
                raise SettingsError(f"{name}={value}: must be at least 1")
        if not 1 <= self.smtp_port <= 65535:
            raise SettingsError(f"RPL_SMTP_PORT={self.smtp_port}: not a port (1-65535)")
        for name, rate in (
            ("RPL_RATE_SIGN_IN", self.rate_sign_in),
            ("RPL_RATE_LINKS", self.rate_links),
            ("RPL_RATE_VERIFY", self.rate_verify),
            ("RPL_RATE_OAUTH", self.rate_oauth),
        ):
            parse_rate(name, rate)
        self._check_signer()

    def _check_signer(self) -> None:
        if self.signer not in SIGNERS:
            raise SettingsError(f"RPL_SIGNER={self.signer!r}: use one of {SIGNERS}")
        if self.signer == "pkcs11" and not (
            self.pkcs11_module and self.pkcs11_token_label and self.pkcs11_pin
        ):
            raise SettingsError(
                "RPL_SIGNER=pkcs11 needs RPL_PKCS11_MODULE, RPL_PKCS11_TOKEN_LABEL and RPL_PKCS11_PIN"
            )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def distributed(self) -> bool:
        """Flow runs go to workers through deployments, signing batches to Dask."""
        return self.runner == "deployments"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def master_key_file(self) -> Path:
        return self.home / "master.key"


STATUS_PURPOSES = ("revocation", "suspension")
SIGNERS = ("local", "pkcs11")


def _purposes(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ("revocation",)
    names = tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    unknown = [n for n in names if n not in STATUS_PURPOSES]
    if unknown or not names:
        raise SettingsError(
            f"RPL_STATUS_PURPOSES={raw!r}: give revocation and/or suspension, comma-separated"
        )
    return names


def parse_rate(name: str, raw: str) -> tuple[int, int]:
    """`N/SECONDS` as (N, SECONDS), both at least 1."""
    count, _, window = raw.partition("/")
    if count.strip().isdigit() and window.strip().isdigit():
        parsed = int(count), int(window)
        if min(parsed) >= 1:
            return parsed
    raise SettingsError(f"{name}={raw!r}: give N/SECONDS, e.g. 5/900 (both at least 1)")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise SettingsError(f"{name}={raw!r}: not a whole number") from err
