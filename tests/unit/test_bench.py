"""The signing benchmark's figures: their shape, not their speed (no timings are asserted)."""

from __future__ import annotations

import json

import pytest

from rpl import bench
from rpl.proofs.dataintegrity import CanonicalizationError

RATES = list(bench.FIGURES)


@pytest.fixture(scope="module")
def figures() -> dict[str, float | None]:
    return bench.signing_figures(None, seconds=0.01)


def test_figures_are_one_json_object_with_every_named_rate(
    figures: dict[str, float | None],
) -> None:
    assert list(json.loads(json.dumps(figures))) == list(bench.FIGURES)
    for name in RATES:
        value = figures[name]
        assert isinstance(value, float) and value > 0, name


def test_human_output_names_each_rate_and_its_share_of_raw_signing(
    figures: dict[str, float | None],
) -> None:
    text = bench.format_figures(figures)
    assert "eddsa-jcs-2022 sign" in text and "eddsa-rdfc-2022 verify" in text
    assert text.count("% of raw Ed25519 signing") == len(RATES) - 1
    assert "VC-JWT sign" in text


def test_a_given_unsigned_credential_is_benchmarked_instead() -> None:
    credential = bench.realistic_credential()
    credential["name"] = "Another credential"
    figures = bench.signing_figures(credential, seconds=0.005)
    assert all(figures[name] for name in RATES)


def test_a_credential_that_cannot_be_signed_is_refused_not_timed() -> None:
    credential = {**bench.realistic_credential(), "favouriteColour": "green"}
    with pytest.raises(CanonicalizationError, match="favouriteColour"):
        bench.signing_figures(credential, seconds=0.005)


def test_the_built_in_credential_is_fresh_each_time() -> None:
    first = bench.realistic_credential()
    first["credentialSubject"]["role"] = "changed"
    assert bench.realistic_credential()["credentialSubject"]["role"] == "Registered Nurse"


class _Clock:
    """Time that passes only when the operations below say so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_rate_is_that_of_the_operations_fastest_round() -> None:
    clock = _Clock()

    def steady() -> None:
        clock.now += 0.001  # 1,000 calls a second, every round

    def disturbed() -> None:
        # 1,000 a second, except while something else ran on the machine: its first rounds
        clock.now += 0.004 if clock.now < 0.25 else 0.001

    figures = bench.rates({"steady": steady, "disturbed": disturbed}, 0.5, rounds=5, clock=clock)
    assert figures["steady"] == pytest.approx(1000, rel=0.01)
    assert figures["disturbed"] == pytest.approx(1000, rel=0.01)  # its average: about 850
