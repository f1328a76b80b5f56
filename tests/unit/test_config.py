"""Settings read from `RPL_…` environment variables: defaults, every variable, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rpl.config
from rpl.config import Settings, SettingsError, default_home

EVERY_VARIABLE = {
    "RPL_HOME": "/srv/rpl",
    "RPL_DATABASE_URL": "postgresql+psycopg://rpl:secret@db.example/rpl",
    "RPL_PUBLIC_URL": "https://rpl.example.org/",
    "RPL_MASTER_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "RPL_CRYPTOSUITE": "eddsa-jcs-2022",
    "RPL_RUNNER": "inline",
    "RPL_ISSUE_BATCH_SIZE": "500",
    "RPL_MAX_UPLOAD_BYTES": "2097152",
    "RPL_LINK_TTL_DAYS": "14",
    "RPL_REMIND_AFTER_DAYS": "3",
    "RPL_SWEEP_MINUTES": "15",
    "RPL_SMTP_HOST": "smtp.example.org",
    "RPL_SMTP_PORT": "587",
    "RPL_SMTP_SENDER": "badges@example.org",
    "RPL_ADMIN_TOKEN": "admin-token",
    "RPL_STATUS_PURPOSES": "revocation, suspension",
    "RPL_DASK_ADDRESS": "tcp://dask.example:8786",
    "RPL_SESSION_DAYS": "7",
    "RPL_OAUTH_ACCESS_MINUTES": "15",
    "RPL_RATE_SIGN_IN": "3/600",
    "RPL_RATE_LINKS": "10/60",
    "RPL_RATE_VERIFY": "30/60",
    "RPL_RATE_OAUTH": "40/60",
    "RPL_SIGNER": "pkcs11",
    "RPL_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so",
    "RPL_PKCS11_TOKEN_LABEL": "rpl",
    "RPL_PKCS11_PIN": "1234",
}


def test_the_home_defaults_to_rpl_under_xdg_data_home(tmp_path: Path):
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path)})

    assert settings.home == tmp_path / "rpl"
    assert settings.database_url == f"sqlite:///{tmp_path / 'rpl' / 'rpl.db'}"
    assert settings.is_sqlite


def test_without_xdg_data_home_the_home_is_under_the_users_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HOME", str(tmp_path))

    assert Settings.from_env({}).home == tmp_path / ".local" / "share" / "rpl"
    assert default_home({"XDG_DATA_HOME": ""}) == tmp_path / ".local" / "share" / "rpl"


def test_the_embedded_default_keeps_everything_under_its_home(tmp_path: Path):
    settings = Settings.from_env({"RPL_HOME": str(tmp_path)})

    assert settings.home == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'rpl.db'}"
    assert settings.files_dir == tmp_path / "files"
    assert settings.outbox_dir == tmp_path / "outbox"
    assert settings.master_key_file == tmp_path / "master.key"


def test_the_defaults(tmp_path: Path):
    settings = Settings.from_env({"RPL_HOME": str(tmp_path)})

    assert (settings.public_url, settings.cryptosuite, settings.runner) == (
        "http://127.0.0.1:8000",
        "eddsa-rdfc-2022",
        "prefect",
    )
    assert (settings.issue_batch_size, settings.max_upload_bytes, settings.link_ttl_days) == (
        2000,
        10 * 1024 * 1024,
        30,
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_sender) == (
        None,
        25,
        "rpl@localhost",
    )
    assert (settings.master_key, settings.admin_token) == (None, None)
    assert settings.status_purposes == ("revocation",)


def test_every_rpl_variable_is_read():
    settings = Settings.from_env(EVERY_VARIABLE)

    assert settings == Settings(
        home=Path("/srv/rpl"),
        database_url="postgresql+psycopg://rpl:secret@db.example/rpl",
        public_url="https://rpl.example.org",
        master_key="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        cryptosuite="eddsa-jcs-2022",
        runner="inline",
        issue_batch_size=500,
        max_upload_bytes=2097152,
        link_ttl_days=14,
        remind_after_days=3,
        sweep_minutes=15,
        smtp_host="smtp.example.org",
        smtp_port=587,
        smtp_sender="badges@example.org",
        admin_token="admin-token",
        status_purposes=("revocation", "suspension"),
        dask_address="tcp://dask.example:8786",
        session_days=7,
        oauth_access_minutes=15,
        rate_sign_in="3/600",
        rate_links="10/60",
        rate_verify="30/60",
        rate_oauth="40/60",
        signer="pkcs11",
        pkcs11_module="/usr/lib/softhsm/libsofthsm2.so",
        pkcs11_token_label="rpl",
        pkcs11_pin="1234",
    )
    assert not settings.is_sqlite


def test_this_test_knows_every_variable_the_settings_module_names():
    source = Path(rpl.config.__file__).read_text()
    assert set(re.findall(r"\bRPL_[A-Z0-9_]+\b", source)) == set(EVERY_VARIABLE)


def test_empty_variables_count_as_unset(tmp_path: Path):
    empty = {name: "" for name in EVERY_VARIABLE}
    settings = Settings.from_env({**empty, "RPL_HOME": str(tmp_path)})

    assert settings == Settings.from_env({"RPL_HOME": str(tmp_path)})


def test_a_home_with_a_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings.from_env({"RPL_HOME": "~/rpl-test"}).home == tmp_path / "rpl-test"


def test_settings_are_read_from_the_process_environment_when_none_are_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RPL_HOME", str(tmp_path))
    monkeypatch.setenv("RPL_RUNNER", "inline")

    settings = Settings.from_env()

    assert (settings.home, settings.runner) == (tmp_path, "inline")


BAD_VALUES = [
    ("RPL_STATUS_PURPOSES", "revocation,expiry"),
    ("RPL_CRYPTOSUITE", "ecdsa-rdfc-2019"),
    ("RPL_RUNNER", "celery"),
    ("RPL_PUBLIC_URL", "rpl.example.org"),
    ("RPL_PUBLIC_URL", "ftp://rpl.example.org"),
    ("RPL_ISSUE_BATCH_SIZE", "many"),
    ("RPL_MAX_UPLOAD_BYTES", "10MB"),
    ("RPL_LINK_TTL_DAYS", "1.5"),
    ("RPL_SMTP_PORT", "smtp"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(
    tmp_path: Path, name: str, value: str
):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"RPL_HOME": str(tmp_path), name: value})

    assert str(refused.value).startswith(f"{name}={value!r}: ")


@pytest.mark.parametrize(
    "name", ["RPL_ISSUE_BATCH_SIZE", "RPL_MAX_UPLOAD_BYTES", "RPL_LINK_TTL_DAYS"]
)
def test_a_number_that_must_be_positive_is_refused_naming_the_variable(tmp_path: Path, name: str):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"RPL_HOME": str(tmp_path), name: "0"})


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_number_that_must_be_positive_is_refused(tmp_path: Path, value: str):
    with pytest.raises(SettingsError, match="must be at least 1"):
        Settings.from_env({"RPL_HOME": str(tmp_path), "RPL_LINK_TTL_DAYS": value})


@pytest.mark.parametrize("value", ["0", "70000"])
def test_an_smtp_port_out_of_range_is_refused(tmp_path: Path, value: str):
    with pytest.raises(SettingsError, match="RPL_SMTP_PORT"):
        Settings.from_env({"RPL_HOME": str(tmp_path), "RPL_SMTP_PORT": value})


def test_settings_are_not_created_at_import_time():
    assert not [value for value in vars(rpl.config).values() if isinstance(value, Settings)]
