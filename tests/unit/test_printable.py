"""The PDF builder on its own: paper sizes, and a machine without the DejaVu font."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from rpl import printable

FACTS = printable.PrintedFacts(
    credential_id="urn:uuid:1",
    title="Registered Nurse at St Mary's Hospital",
    eyebrow="Confirmed by St Mary's Hospital",
    statement=(
        "St Mary's Hospital, through its HR Manager, confirmed that Jane Żółć worked there.",
    ),
    facts=(("Holder", "Jane Żółć"), ("Period", "from March 1998 to June 2020")),
    skills=("patient care — ESCO S1 (http://data.europa.eu/esco/skill/abc)",),
    evidence=(),
    issuer="St Mary's Hospital — https://stmarys.example",
)
URL = "https://rpl.example/credentials/1"
PRINTED = datetime(2026, 1, 2, tzinfo=UTC)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages)


def test_without_dejavu_the_pdf_is_still_made_in_latin_1(tmp_path: Path, caplog) -> None:
    pdf = printable.credential_pdf(FACTS, URL, "letter", PRINTED, font_dirs=(tmp_path,))
    text = _text(pdf)
    assert "Jane ?ó??" in text and URL in text and "printed 02 January 2026" in text
    assert "DejaVu fonts not found" in caplog.text


def test_with_dejavu_every_letter_prints(tmp_path: Path) -> None:
    if not (printable.FONT_DIRS[0] / "DejaVuSans.ttf").exists():
        pytest.skip("fonts-dejavu-core is not installed")
    assert "Jane Żółć" in _text(printable.credential_pdf(FACTS, URL, "a4", PRINTED))


def test_an_unknown_paper_size_is_refused() -> None:
    with pytest.raises(printable.UnknownPaperError, match="a3"):
        printable.credential_pdf(FACTS, URL, "a3", PRINTED)


def test_a_long_claim_runs_onto_a_second_page_with_the_qr_code_whole() -> None:
    long = printable.PrintedFacts(
        **{**FACTS.__dict__, "skills": tuple(f"skill {n}" for n in range(60))}
    )
    reader = PdfReader(io.BytesIO(printable.credential_pdf(long, URL, "a4", PRINTED)))
    assert len(reader.pages) >= 2
    assert [len(p.images) for p in reader.pages][-1] == 1  # the QR code, on the last page
