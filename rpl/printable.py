"""A credential on paper: the facts its public page shows, and a QR code leading to live verification.

`printed_facts` turns the signed document (with the claim and organisation behind it) into plain
words; `credential_pdf` lays them out on A4 or US Letter. Paper cannot say whether a credential is
still valid tomorrow, so the page says when it was printed and sends the reader to the live check.

Names are people's names in any script: fpdf2 needs a TrueType font to write beyond Latin-1, so the
PDF embeds DejaVu (Debian's fonts-dejavu-core, which `make install` asks for). Without it the PDF is
still made, with the built-in Helvetica and `?` for what Latin-1 lacks, and a warning in the log.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from rpl.claims import Claim, ClaimKind
from rpl.credentials import describe_extent, describe_period
from rpl.errors import RplError
from rpl.organisations import Organisation

log = logging.getLogger("rpl.printable")

# fpdf2's names for the paper sizes people ask for.
PAPERS: Mapping[str, str] = {"a4": "A4", "letter": "Letter"}
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
_MARGIN = 18.0  # mm: inside what home and office printers can reach on both papers
_QR_SIZE = 38.0  # mm: scans from arm's length, survives a photocopy
_INK, _MUTED, _ACCENT = (27, 27, 27), (89, 89, 89), (11, 83, 148)


class UnknownPaperError(RplError):
    """A paper size other than a4 or letter."""


@dataclass(frozen=True)
class PrintedFacts:
    """What the PDF says, already in words: the same facts as the credential's public page."""

    credential_id: str
    title: str
    eyebrow: str
    statement: tuple[str, ...]
    facts: tuple[tuple[str, str], ...]
    skills: tuple[str, ...]
    evidence: tuple[str, ...]
    issuer: str


_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#|!{}()+.-])")


def _paragraphs(markdown: Any) -> tuple[str, ...]:
    """OB 3.0 narratives are Markdown; ours are plain paragraphs with escaped punctuation."""
    if not isinstance(markdown, str):
        return ()
    blocks = (" ".join(b.split()) for b in markdown.split("\n\n"))
    return tuple(_MARKDOWN_ESCAPE.sub(r"\1", b) for b in blocks if b)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _day(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%d %B %Y")
    except ValueError:
        return str(value)


def _skills(achievement: Mapping[str, Any]) -> tuple[str, ...]:
    lines = []
    for al in _list(achievement.get("alignment")):
        framework = " ".join(
            p for p in (al.get("targetFramework") or "framework", al.get("targetCode")) if p
        )
        lines.append(f"{al.get('targetName', '')} — {framework} ({al.get('targetUrl', '')})")
    lines += [f"{tag} (in the holder's words)" for tag in _list(achievement.get("tag"))]
    return tuple(lines)


def _evidence(document: Mapping[str, Any]) -> tuple[str, ...]:
    lines = []
    for e in _list(document.get("evidence")):
        about = f": {e['description']}" if e.get("description") else ""
        fingerprint = e.get("digestMultibase") or e.get("id", "")
        lines.append(f"{e.get('name', '')}{about} (fingerprint {fingerprint})")
    return tuple(lines)


def printed_facts(document: Mapping[str, Any], claim: Claim, org: Organisation) -> PrintedFacts:
    """The facts of a signed credential, as its public page words them."""
    subject = document.get("credentialSubject", {})
    achievement = subject.get("achievement", {})
    d, by = claim.details, claim.confirmed_by
    through = f", through its {by.attester_role}" if by else ""
    facts = [
        ("Confirmed by", f"{org.name}{through}, on {_day(document.get('validFrom'))}"),
        ("Programme" if d.kind is ClaimKind.STUDY else "Role", d.role),
        ("Period", describe_period(d.start, d.end)),
        ("Extent", describe_extent(d.hours, d.fte)),
        ("Description", achievement.get("description", "")),
        ("Holder", d.claimant_name),
        ("Issued", _day(document.get("validFrom"))),
    ]
    issuer = document.get("issuer", {})
    return PrintedFacts(
        credential_id=str(document.get("id", "")),
        title=str(achievement.get("name", "")),
        eyebrow=f"Confirmed by {org.name}",
        statement=_paragraphs(achievement.get("criteria", {}).get("narrative")),
        facts=tuple((label, value) for label, value in facts if value),
        skills=_skills(achievement),
        evidence=_evidence(document),
        issuer=f"{issuer.get('name', org.name)} — {issuer.get('url', org.url)}; "
        f"signing keys published as {issuer.get('id', '')}",
    )


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules (True = dark), without the quiet zone; what the PDF shows."""
    return tuple(tuple(bool(m) for m in row) for row in segno.make(url, error="m").matrix)


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    # One pixel per module and a 4-module quiet zone: the PDF scales it without blurring.
    segno.make(url, error="m").save(buffer, kind="png", scale=1, border=4)
    buffer.seek(0)
    return buffer


class _Sheet(FPDF):
    """The page, with a footer that sends the reader to the live check."""

    url = ""
    printed = ""
    family = "helvetica"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, size=8)
        self.set_text_color(*_MUTED)
        width = self.w - self.l_margin - self.r_margin
        note = f"Check it now: {self.url} · printed {self.printed}"
        self.cell(width - 15, 5, self.text_of(note))
        self.cell(15, 5, f"{self.page_no()}/{{nb}}", align="R")

    def text_of(self, text: str) -> str:
        if self.family != "helvetica":
            return text
        return (
            text.replace("—", "-").replace("·", "-").encode("latin-1", "replace").decode("latin-1")
        )


def _fonts(pdf: _Sheet, font_dirs: Sequence[Path]) -> None:
    for folder in font_dirs:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdf.add_font("dejavu", "", regular)
            pdf.add_font("dejavu", "B", bold)
            pdf.family = "dejavu"
            return
    log.warning("DejaVu fonts not found in %s: PDFs use Helvetica (Latin-1 only)", font_dirs)


def credential_pdf(
    facts: PrintedFacts,
    verify_url: str,
    paper: str = "a4",
    printed_at: datetime | None = None,
    font_dirs: Sequence[Path] = FONT_DIRS,
) -> bytes:
    """The credential on one sheet (more if the claim is long) of A4 or US Letter paper."""
    pdf = _new_sheet(paper, printed_at, font_dirs)
    pdf.set_title(pdf.text_of(facts.title))
    pdf.set_author(pdf.text_of(facts.issuer.split(" — ")[0]))
    _credential_pages(pdf, facts, verify_url)
    return bytes(pdf.output())


def credentials_pdf(
    items: Sequence[tuple[PrintedFacts, str]],
    title: str,
    paper: str = "a4",
    printed_at: datetime | None = None,
    font_dirs: Sequence[Path] = FONT_DIRS,
) -> bytes:
    """Several credentials (facts, live-check address) in one document, each starting on a new
    sheet with its own QR code, as the holder chose to share them."""
    pdf = _new_sheet(paper, printed_at, font_dirs)
    pdf.set_title(pdf.text_of(title))
    for facts, verify_url in items:
        _credential_pages(pdf, facts, verify_url)
    return bytes(pdf.output())


def _new_sheet(paper: str, printed_at: datetime | None, font_dirs: Sequence[Path]) -> _Sheet:
    if paper not in PAPERS:
        raise UnknownPaperError(f"paper {paper!r} is not one of {', '.join(PAPERS)}")
    pdf = _Sheet(format=PAPERS[paper], unit="mm")
    pdf.printed = (printed_at or datetime.now()).strftime("%d %B %Y")
    _fonts(pdf, font_dirs)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_MARGIN)
    pdf.set_lang("en")
    pdf.set_creator("rpl")
    return pdf


def _credential_pages(pdf: _Sheet, facts: PrintedFacts, verify_url: str) -> None:
    pdf.add_page()  # ends the previous credential's last page, footer and all, under its own url
    pdf.url = verify_url
    _heading(pdf, facts)
    _facts_table(pdf, facts.facts)
    _list_section(pdf, "Skills", facts.skills)
    _list_section(pdf, "Evidence the organisation saw", facts.evidence)
    _list_section(pdf, "About the issuer", (facts.issuer,))
    _check_box(pdf, verify_url)


def _write(pdf: _Sheet, text: str, size: float, style: str = "", color: tuple[int, ...] = _INK):
    pdf.set_font(pdf.family, style, size)
    pdf.set_text_color(*color)
    pdf.multi_cell(0, size * 0.5, pdf.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def _heading(pdf: _Sheet, facts: PrintedFacts) -> None:
    _write(pdf, facts.eyebrow.upper(), 9, color=_MUTED)
    pdf.ln(1)
    _write(pdf, facts.title, 20, "B")
    pdf.ln(3)
    for paragraph in facts.statement:
        _write(pdf, paragraph, 11.5)
        pdf.ln(2)


def _section(pdf: _Sheet, title: str) -> None:
    pdf.ln(2)
    _write(pdf, title, 13, "B", _ACCENT)
    pdf.ln(1)


def _facts_table(pdf: _Sheet, rows: Sequence[tuple[str, str]]) -> None:
    _section(pdf, "What was confirmed")
    label_width = 34.0
    for label, value in rows:
        pdf.set_font(pdf.family, "B", 10.5)
        pdf.set_text_color(*_INK)
        top = pdf.get_y()
        pdf.multi_cell(
            label_width, 5.5, pdf.text_of(label), new_x=XPos.RIGHT, new_y=YPos.TOP, align="L"
        )
        pdf.set_font(pdf.family, "", 10.5)
        pdf.multi_cell(0, 5.5, pdf.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        pdf.set_y(max(pdf.get_y(), top + 5.5) + 1)


def _list_section(pdf: _Sheet, title: str, lines: Sequence[str]) -> None:
    if not lines:
        return
    _section(pdf, title)
    for line in lines:
        _write(pdf, f"•  {line}" if pdf.family != "helvetica" else f"-  {line}", 10.5)
        pdf.ln(1)


def _check_box(pdf: _Sheet, url: str) -> None:
    """The QR code and the address it holds, kept together on one page."""
    if pdf.get_y() + _QR_SIZE + 8 > pdf.h - _MARGIN:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    pdf.image(_qr_png(url), x=pdf.l_margin, y=top, w=_QR_SIZE, h=_QR_SIZE, alt_text=url)
    pdf.set_xy(pdf.l_margin + _QR_SIZE + 6, top + 4)
    text_width = pdf.w - pdf.r_margin - pdf.get_x()
    pdf.set_font(pdf.family, "B", 12)
    pdf.set_text_color(*_INK)
    pdf.multi_cell(
        text_width, 6, "Is it still valid? Check it now", new_x=XPos.LEFT, new_y=YPos.NEXT
    )
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(
        text_width,
        5,
        pdf.text_of(
            "Scan the code or open the address below. The page checks the organisation's "
            "signature and whether the credential has been revoked since this was printed."
        ),
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
        align="L",
    )
    pdf.set_text_color(*_ACCENT)
    pdf.multi_cell(text_width, 5, url, link=url, new_x=XPos.LEFT, new_y=YPos.NEXT, align="L")
    pdf.set_text_color(*_MUTED)
    pdf.multi_cell(
        text_width,
        5,
        pdf.text_of("This acknowledges participation; it is not an assessment of competence."),
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
        align="L",
    )
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE))
