"""The PKCS#11 signer against SoftHSM2: keys made on the token, credentials signed through it,
checked by rpl's own verifier. Skipped with the reason when SoftHSM2 is not installed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpl.bootstrap import Container, bootstrap
from rpl.config import Settings
from rpl.organisations import Attester
from rpl.pkcs11_signer import PKCS11, Pkcs11KeyStore
from rpl.services import jobs, keys
from rpl.services.organisations import RegisterOrganisation, register_organisation
from rpl.verify import verify_credential
from tests.integration.test_issuance import confirmed_claims

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
LABEL, PIN = "rpl-test", "1234"

pytestmark = pytest.mark.skipif(
    not (Path(MODULE).exists() and shutil.which("softhsm2-util")),
    reason=f"SoftHSM2 is not installed ({MODULE}, softhsm2-util)",
)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A fresh token in a temporary folder. SoftHSM reads SOFTHSM2_CONF once per process, at
    C_Initialize, so every test of this module shares this one token (with its own labels)."""
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n")
    patch = pytest.MonkeyPatch()
    patch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", LABEL, "--pin", PIN,
         "--so-pin", "5678"],
        check=True, capture_output=True,
    )  # fmt: skip
    yield
    patch.undo()


@pytest.fixture
def hsm_container(token: None, settings: Settings) -> Iterator[Container]:
    hsm = settings.with_(
        signer="pkcs11", pkcs11_module=MODULE, pkcs11_token_label=LABEL, pkcs11_pin=PIN
    )
    built = bootstrap(hsm, runner="inline", network=False)
    yield built
    built.close()


def test_a_credential_signed_on_the_token_verifies_with_rpls_verifier(
    hsm_container: Container,
) -> None:
    c = hsm_container
    assert isinstance(c.keystore, Pkcs11KeyStore)
    org = register_organisation(
        c.uow,
        c.keystore,
        RegisterOrganisation(
            name="St Mary's Hospital",
            domain="stmarys.example",
            url="https://stmarys.example",
            attesters=(Attester("coordinator@stmarys.example", "Coordinator"),),
            domain_verified=True,
        ),
        c.now(),
    )
    with c.uow() as tx:
        [key] = tx.orgs.keys(org.id)
    # The database holds the public key and the token's label, nothing secret.
    assert key.store == PKCS11 and key.ciphertext == f"rpl:{org.id}:key-1".encode()
    ids = confirmed_claims(c, org, 2)
    report = jobs.issue_batch(c, ids)
    assert sorted(report.issued) == sorted(ids), report
    with c.uow() as tx:
        stored = [tx.credentials.by_claim(i) for i in ids]
    for credential in stored:
        assert credential is not None and credential.verification_method.endswith("#key-1")
        result = verify_credential(
            credential.document, c.resolver(), c.now(), status_lists=c.status_lists()
        )
        assert result.verified, result  # the status list was signed on the token too

    # Rotation makes the next key on the token as well; what key-1 signed still verifies.
    assert keys.rotate_key(c.uow, c.keystore, org.slug, c.now()) == "key-2"
    [later] = confirmed_claims(c, org, 1)
    assert jobs.issue_batch(c, [later]).issued == [later]
    with c.uow() as tx:
        newer = tx.credentials.by_claim(later)
    assert newer is not None and newer.verification_method.endswith("#key-2")
    for credential in (*stored, newer):
        assert credential is not None
        assert verify_credential(
            credential.document, c.resolver(), c.now(), status_lists=c.status_lists()
        ).verified


def test_a_key_held_by_the_token_is_not_opened_without_it(
    hsm_container: Container, settings: Settings
) -> None:
    """An instance without the token configured says which store holds the key."""
    org = register_organisation(
        hsm_container.uow,
        hsm_container.keystore,
        RegisterOrganisation(
            name="Harbour",
            domain="harbour.example",
            url="https://harbour.example",
            attesters=(Attester("coordinator@stmarys.example", "Coordinator"),),
            domain_verified=True,
        ),
        hsm_container.now(),
    )
    [claim_id] = confirmed_claims(hsm_container, org, 1)
    hsm_container.keystore = None  # as if started with RPL_SIGNER=local
    hsm_container.__dict__.pop("_keyring", None)
    report = jobs.issue_batch(hsm_container, [claim_id])
    assert "held by 'pkcs11', which is not configured" in report.failed[claim_id]
