"""The holder's passport through the real app: grouping, their own words, share links, the profile.

Every record is private until shared: a link shows only what was chosen, and only while it is
neither revoked nor expired; the public profile only what was picked; another account sees none of it.
"""

from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest

from rpl.bootstrap import Container
from rpl.organisations import Organisation
from tests.conftest import csrf_from, outbox_links
from tests.web.journey import credential_id, decide, file_claim
from tests.web.signin import new_client, sign_in

HOLDER = "margaret@example.net"
STRANGER = "someone@example.net"


def _claim(client: Any, container: Container, confirm: bool = True, **changes: str) -> str:
    """File a claim as HOLDER (or `claimant_email`); confirm it if asked; returns its private path."""
    location = file_claim(client, **changes).headers["location"]
    if confirm:
        decide(client, outbox_links(container, "attest")[-1], action="confirm", attester_role="HR")
    return str(location)


def _claim_id(container: Container, path: str) -> str:
    from rpl.tokens import hash_token

    with container.uow() as tx:
        return tx.claims.by_token(hash_token(path.rsplit("/", 1)[1])).id


@pytest.fixture
def held(client: Any, container: Container, hospital: Organisation) -> dict[str, Any]:
    """Margaret's three records (nursing and teaching issued, a volunteering claim pending),
    and a stranger's issued record; Margaret is signed in on `client`."""
    nurse = _claim(client, container)
    teacher = _claim(
        client,
        container,
        role="Clinical Teacher",
        start="2021-01",
        end="",
        skills="teaching | http://data.europa.eu/esco/skill/t1 | T1 | ESCO\nmentoring",
    )
    pending = _claim(client, container, confirm=False, role="Volunteer driver", start="2009")
    other = _claim(client, container, claimant_email=STRANGER, role="Porter")
    sign_in(client, container, HOLDER)
    ids = {n: _claim_id(container, p) for n, p in (("nurse", nurse), ("teacher", teacher))}
    ids |= {"pending": _claim_id(container, pending), "other": _claim_id(container, other)}
    creds = {n: credential_id(client.get(p).text) for n, p in (("nurse", nurse), ("other", other))}
    creds["teacher"] = credential_id(client.get(teacher).text)
    return {"claims": ids, "credentials": creds}


def _post(client: Any, path: str, data: dict[str, Any], page: str = "/my/passport") -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _share(client: Any, claim_ids: list[str], **fields: Any) -> str:
    answer = _post(client, "/my/passport/links", {"records": claim_ids, **fields})
    assert answer.status_code == 200, answer.text
    match = re.search(r'value="http://testserver(/shared/[A-Za-z0-9_-]+)"', answer.text)
    assert match, "the new link is not shown"
    return match.group(1)


def _main(text: str) -> str:
    return html.unescape(text.split('<main id="main">', 1)[1].split("</main>", 1)[0])


def test_the_passport_holds_every_record_grouped_three_ways(
    client: Any, held: dict[str, Any]
) -> None:
    by_period = _main(client.get("/my/passport").text)
    for role in ("Registered Nurse", "Clinical Teacher", "Volunteer driver"):
        assert f"{role} at St Mary's Hospital" in by_period
    assert "Porter" not in by_period  # the stranger's record
    order = [
        by_period.index(t) for t in ("Still going on", "Began in the 2000s", "Began in the 1990s")
    ]
    assert order == sorted(order)
    assert "Waiting for the organisation" in by_period  # the pending claim is there too

    by_org = _main(client.get("/my/passport?by=organisation").text)
    assert by_org.count("<h3 ") == 1 and "St Mary's Hospital</h3>" in by_org

    by_skill = _main(client.get("/my/passport?by=skill").text)
    headings = [h.strip() for h in re.findall(r"<h3 [^>]*>([^<]+)", by_skill)]
    assert headings[0] == "mentoring"  # backed by both records
    assert "teaching" in headings and "patient care" in headings

    refused = client.get("/my/passport?by=shoe-size")
    assert refused.status_code == 422 and "is not a way to group records" in refused.text


def test_the_skill_summary_counts_only_confirmed_evidence_with_the_frameworks_terms(
    client: Any, held: dict[str, Any]
) -> None:
    summary = _main(client.get("/my/passport").text).split('id="skills-heading"')[1]
    summary = summary.split("</section>")[0]
    assert 'teaching</strong> — <a href="http://data.europa.eu/esco/skill/t1"' in summary
    assert "ESCO T1" in summary and "ESCO S1" in summary
    assert re.search(r"mentoring</strong>\s*<span class=\"muted\">— backed by 2 records", summary)


def test_the_holders_words_are_marked_as_theirs_and_never_signed(
    client: Any, held: dict[str, Any]
) -> None:
    nurse = held["claims"]["nurse"]
    saved = _post(
        client,
        f"/my/passport/records/{nurse}/note",
        {"headline": "Night shifts on the cardiac ward", "notes": "I led the night team."},
    )
    assert saved.status_code == 303
    _post(client, "/my/passport/story", {"headline": "Nurse turned teacher", "story": "Long."})
    page = _main(client.get("/my/passport").text)
    assert page.count("Written by you — not part of any credential") == 2
    assert "I led the night team." in page and "Nurse turned teacher" in page
    document = client.get(f"/credentials/{held['credentials']['nurse']}.json").text
    assert "night" not in document.lower()


def test_a_note_too_long_is_refused_with_the_reason_and_the_text_kept(
    client: Any, held: dict[str, Any]
) -> None:
    nurse = held["claims"]["nurse"]
    long_notes = "x" * 4001
    answer = _post(
        client, f"/my/passport/records/{nurse}/note", {"headline": "Kept", "notes": long_notes}
    )
    assert answer.status_code == 422
    assert "Keep it to 4000 characters (this is 4001)" in answer.text
    assert long_notes in answer.text and 'value="Kept"' in answer.text
    assert "Kept" not in _main(client.get("/my/passport").text).split("Your records")[1]


def test_a_share_link_shows_the_chosen_records_only_and_logs_each_opening(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    claims, creds = held["claims"], held["credentials"]
    _post(client, f"/my/passport/records/{claims['nurse']}/note", {"notes": "Private thought."})
    path = _share(client, [claims["nurse"]], label="For the clinic")
    employer = new_client(container)
    shown = employer.get(path)
    assert shown.status_code == 200
    main = _main(shown.text)
    assert "Records shared by Margaret Okafor" in main
    assert "Genuine: this credential verifies now" in main and "Registered Nurse" in main
    assert "Clinical Teacher" not in main and creds["teacher"] not in shown.text
    assert "Private thought." not in shown.text  # notes were not included
    assert f"/credentials/{creds['nurse']}.json" in main and f"{creds['nurse']}.pdf" in main
    [embedded] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', shown.text, re.S)
    assert json.loads(embedded) == json.loads(
        employer.get(f"/credentials/{creds['nurse']}.json").text
    )
    assert shown.headers["cache-control"] == "no-store"
    employer.get(path)

    links = _main(client.get("/my/passport").text).split('id="links-heading"')[1]
    assert "For the clinic" in links and "2 times" in links
    with container.uow() as tx:
        [link] = tx.passport.links(tx.accounts.by_email(HOLDER).id)
    assert link.opened == 2 and len(link.recent_opens) == 2


def test_a_share_link_with_notes_marks_them_as_the_holders(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    nurse = held["claims"]["nurse"]
    _post(client, f"/my/passport/records/{nurse}/note", {"headline": "My best years"})
    path = _share(client, [nurse, held["claims"]["teacher"]], include_notes="true")
    main = _main(new_client(container).get(path).text)
    assert "these 2 records" in main
    assert "Written by Margaret Okafor — not part of any credential" in main
    assert main.index("What was confirmed") < main.index("My best years")


def test_the_shared_selection_prints_as_one_pdf_while_the_link_works(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    from pypdf import PdfReader

    claims, creds = held["claims"], held["credentials"]
    path = _share(client, [claims["teacher"], claims["nurse"]])
    employer = new_client(container)
    page = employer.get(path).text
    assert f'href="{path}.pdf?paper=letter"' in page
    answer = employer.get(f"{path}.pdf?paper=letter")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    printed = " ".join(pages)
    assert printed.index("Clinical Teacher") < printed.index("Registered Nurse")  # as chosen
    for cid in (creds["teacher"], creds["nurse"]):
        assert f"http://testserver/credentials/{cid}" in printed
    assert "Porter" not in printed and "Volunteer driver" not in printed
    assert round(float(reader.pages[0].mediabox.width)) == 612  # US Letter
    with container.uow() as tx:
        [link] = tx.passport.links(tx.accounts.by_email(HOLDER).id)
    assert link.opened == 1  # the page was opened once; its PDF is not another opening
    _post(client, f"/my/passport/links/{link.id}/revoke", {})
    assert employer.get(f"{path}.pdf").status_code == 410


def test_a_revoked_link_is_refused_in_plain_words_showing_nothing(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    path = _share(client, [held["claims"]["nurse"]])
    employer = new_client(container)
    assert employer.get(path).status_code == 200
    with container.uow() as tx:
        [link] = tx.passport.links(tx.accounts.by_email(HOLDER).id)
    assert _post(client, f"/my/passport/links/{link.id}/revoke", {}).status_code == 303
    refused = employer.get(path)
    assert refused.status_code == 410
    assert "The person who shared it has stopped sharing it" in refused.text
    assert (
        "Registered Nurse" not in refused.text and held["credentials"]["nurse"] not in refused.text
    )
    assert "Revoked" in _main(client.get("/my/passport").text).split('id="links-heading"')[1]


def test_an_expired_link_is_refused_and_a_bad_expiry_is_explained(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    nurse = held["claims"]["nurse"]
    bad = _post(client, "/my/passport/links", {"records": [nurse], "days": "soon", "label": "Kept"})
    assert bad.status_code == 422 and "whole number of days from 1 to 365" in bad.text
    assert 'value="Kept"' in bad.text and 'value="soon"' in bad.text
    none = _post(client, "/my/passport/links", {"days": "3"})
    assert none.status_code == 422 and "Choose at least one record to share." in none.text

    path = _share(client, [nurse], days="3")
    employer = new_client(container)
    assert employer.get(path).status_code == 200
    start = container.now()
    container.now = lambda: start + timedelta(days=3, seconds=1)  # type: ignore[method-assign]
    gone = employer.get(path)
    assert gone.status_code == 410 and "that time is over" in gone.text
    assert "Registered Nurse" not in gone.text
    assert new_client(container).get("/shared/not-a-link").status_code == 404


def test_a_holder_cannot_share_or_annotate_records_that_are_not_theirs(
    client: Any, held: dict[str, Any]
) -> None:
    other, pending = held["claims"]["other"], held["claims"]["pending"]
    refused = _post(client, "/my/passport/links", {"records": [other]})
    assert refused.status_code == 422 and "Only your own records" in refused.text
    unissued = _post(client, "/my/passport/links", {"records": [pending]})
    assert unissued.status_code == 422
    note = _post(client, f"/my/passport/records/{other}/note", {"notes": "mine now"})
    assert note.status_code == 404


def test_another_account_sees_none_of_the_holders_passport_or_links(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    _post(client, f"/my/passport/records/{held['claims']['nurse']}/note", {"notes": "Secret."})
    _share(client, [held["claims"]["nurse"]], label="Only for the clinic")
    with container.uow() as tx:
        [link] = tx.passport.links(tx.accounts.by_email(HOLDER).id)
    stranger = new_client(container)
    assert stranger.get("/my/passport", follow_redirects=False).status_code == 303  # sign in
    sign_in(stranger, container, STRANGER)
    theirs = _main(stranger.get("/my/passport").text)
    assert "Porter" in theirs
    for hidden in ("Registered Nurse", "Secret.", "Only for the clinic", link.id):
        assert hidden not in theirs
    revoke = _post(stranger, f"/my/passport/links/{link.id}/revoke", {})
    assert revoke.status_code == 404
    with container.uow() as tx:
        [still] = tx.passport.links(tx.accounts.by_email(HOLDER).id)
    assert still.revoked_at is None


def test_the_public_profile_shows_only_the_chosen_records_and_notes(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    claims = held["claims"]
    _post(client, f"/my/passport/records/{claims['nurse']}/note", {"notes": "Shown note."})
    _post(client, f"/my/passport/records/{claims['teacher']}/note", {"notes": "Hidden note."})
    _post(client, "/my/passport/story", {"headline": "Hidden story"})
    visitor = new_client(container)
    assert visitor.get("/people/margaret-okafor").status_code == 404
    saved = _post(
        client,
        "/my/passport/profile",
        {
            "handle": "Margaret-Okafor",
            "published": "true",
            "profile_records": [claims["nurse"], claims["teacher"]],
            "profile_notes": [claims["nurse"]],
        },
    )
    assert saved.status_code == 303
    shown = visitor.get("/people/margaret-okafor")
    assert shown.status_code == 200
    main = _main(shown.text)
    assert "Registered Nurse" in main and "Clinical Teacher" in main
    assert "Shown note." in main and "Hidden note." not in shown.text
    assert "Hidden story" not in shown.text and "Volunteer driver" not in shown.text
    assert main.count("Genuine: this credential verifies now") == 2

    passport = _main(client.get("/my/passport").text)
    assert "Anyone: your public profile, with your note" in passport
    _post(client, "/my/passport/profile", {"handle": "margaret-okafor"})  # unpublish
    assert visitor.get("/people/margaret-okafor").status_code == 404


def test_a_profile_address_is_checked_and_unique(
    client: Any, container: Container, held: dict[str, Any]
) -> None:
    bad = _post(client, "/my/passport/profile", {"handle": "-x", "published": "true"})
    assert bad.status_code == 422 and "3 to 40 letters" in bad.text and 'value="-x"' in bad.text
    assert _post(client, "/my/passport/profile", {"handle": "margaret"}).status_code == 303
    stranger = new_client(container)
    sign_in(stranger, container, STRANGER)
    taken = _post(stranger, "/my/passport/profile", {"handle": "margaret", "published": "true"})
    assert taken.status_code == 422 and "Someone else has this address" in taken.text
    picked = _post(
        stranger,
        "/my/passport/profile",
        {"handle": "porter", "profile_records": [held["claims"]["nurse"]]},
    )
    assert picked.status_code == 422 and "Only your own records" in picked.text
