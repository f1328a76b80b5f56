"""The printable credential: a PDF with the page's facts and a QR code that leads to the live check."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from rpl import printable
from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.conftest import PUBLIC_URL
from tests.web.journey import attester_path, credential_id, decide, file_claim

# A4 and US Letter in points (1/72 in), as PDF viewers and printers read the MediaBox.
PAGE_SIZES = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}


def _issue(client: Any, container: Container, **changes: str) -> str:
    letter = ("letter.pdf", b"%PDF-1.4\n% long service\n", "application/pdf")
    files = {"evidence_1": letter}
    claimant = file_claim(client, files=files, evidence_title_1="Letter of service", **changes)
    claimant_path = claimant.headers["location"]
    decide(client, attester_path(container), action="confirm", attester_role="HR Manager")
    return credential_id(client.get(claimant_path).text)


def _qr_modules(reader: PdfReader) -> list[list[bool]]:
    """The QR image embedded in the PDF, read back module by module (quiet zone removed)."""
    (image,) = reader.pages[-1].images
    pixels = image.image.convert("L")
    width, height = pixels.size
    assert width == height
    border = 4  # the quiet zone `printable` adds, in modules (one pixel each)
    return [
        [pixels.getpixel((x, y)) < 128 for x in range(border, width - border)]
        for y in range(border, height - border)
    ]


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_pdf_says_what_the_page_says_and_its_qr_leads_to_the_live_check(
    client: Any, container: Container, hospital: Organisation, paper: str
) -> None:
    cid = _issue(client, container, claimant_name="Zoë Łukasiewicz-Nguyễn")
    response = client.get(f"/credentials/{cid}.pdf?paper={paper}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"

    reader = PdfReader(io.BytesIO(response.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width), 2), round(float(box.height), 2)) == PAGE_SIZES[paper]
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    url = f"{PUBLIC_URL}/credentials/{cid}"
    for fact in (
        "Zoë Łukasiewicz-Nguyễn",  # a name beyond Latin-1, in the embedded font
        "Registered Nurse at St Mary's Hospital",
        "through its HR Manager",
        "from March 1998 to June 2020",
        "about 0.8 FTE (part time)",
        "patient care — ESCO S1",
        "mentoring (in the holder's words)",
        "Letter of service",
        url,
    ):
        assert fact in text, f"{fact!r} is not in the PDF"
    links = [
        annot.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annot in page.get("/Annots", [])
    ]
    assert url in links
    fonts = {
        font.get_object()["/BaseFont"]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("DejaVuSans" in str(name) for name in fonts), fonts

    expected = [list(row) for row in printable.qr_matrix(url)]
    assert _qr_modules(reader) == expected


def test_a_pdf_of_an_unknown_credential_or_paper_is_refused(
    client: Any, container: Container, hospital: Organisation
) -> None:
    assert client.get("/credentials/no-such-credential.pdf").status_code == 404
    cid = _issue(client, container)
    assert client.get(f"/credentials/{cid}.pdf?paper=a3").status_code == 422
    # The page itself is still the page, not mistaken for the PDF route or the other way round.
    assert "<html" in client.get(f"/credentials/{cid}").text
