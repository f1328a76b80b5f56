"""The holder's passport in the database: their own words, their profile, their share links.

Nothing here is signed or attested: these rows are what the holder wrote and chose. Share links
keep only the SHA-256 of their secret; an opening is logged as a time, nothing about who opened it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from rpl.passport import HolderNote, Profile, ProfileChoice, ShareLink, ShareRequest, Story
from rpl.storage.tables import (
    HolderPassportRow,
    PassportRecordRow,
    ShareLinkItemRow,
    ShareLinkOpenRow,
    ShareLinkRow,
)

RECENT_OPENS = 10  # openings listed per link on the passport (the count covers them all)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class PassportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the passport as a whole: story and profile settings ---------------------------------

    def _passport(self, account_id: str, now: datetime) -> HolderPassportRow:
        row = self.session.get(HolderPassportRow, account_id)
        if row is None:
            row = HolderPassportRow(account_id=account_id, updated_at=now)
            self.session.add(row)
        return row

    def story(self, account_id: str) -> Story:
        row = self.session.get(HolderPassportRow, account_id)
        return Story(row.headline, row.story) if row else Story()

    def save_story(self, account_id: str, story: Story, now: datetime) -> None:
        row = self._passport(account_id, now)
        row.headline, row.story, row.updated_at = story.headline, story.story, now

    def profile(self, account_id: str) -> Profile:
        row = self.session.get(HolderPassportRow, account_id)
        choices = self.session.exec(
            select(PassportRecordRow)
            .where(
                PassportRecordRow.account_id == account_id,
                col(PassportRecordRow.on_profile).is_(True),
            )
            .order_by(col(PassportRecordRow.claim_id))
        ).all()
        return Profile(
            handle=row.handle if row else None,
            published=bool(row and row.published),
            show_story=bool(row and row.show_story),
            choices=tuple(ProfileChoice(c.claim_id, c.note_on_profile) for c in choices),
        )

    def account_by_handle(self, handle: str) -> str | None:
        """The account whose profile is published under `handle`; None if none is."""
        row = self.session.exec(
            select(HolderPassportRow).where(
                HolderPassportRow.handle == handle, col(HolderPassportRow.published).is_(True)
            )
        ).first()
        return row.account_id if row else None

    def handle_taken(self, handle: str, account_id: str) -> bool:
        row = self.session.exec(
            select(HolderPassportRow.account_id).where(HolderPassportRow.handle == handle)
        ).first()
        return row is not None and row != account_id

    def save_profile(self, account_id: str, profile: Profile, now: datetime) -> None:
        """Replace the profile's settings and its choice of records in one go."""
        row = self._passport(account_id, now)
        row.handle, row.published, row.show_story = (
            profile.handle,
            profile.published,
            profile.show_story,
        )
        row.updated_at = now
        self.session.execute(
            update(PassportRecordRow)
            .where(col(PassportRecordRow.account_id) == account_id)
            .values(on_profile=False, note_on_profile=False)
        )
        for choice in profile.choices:
            record = self._record(account_id, choice.claim_id, now)
            record.on_profile, record.note_on_profile = True, choice.show_note

    # --- per record ------------------------------------------------------------------------

    def _record(self, account_id: str, claim_id: str, now: datetime) -> PassportRecordRow:
        row = self.session.get(PassportRecordRow, (account_id, claim_id))
        if row is None:
            row = PassportRecordRow(account_id=account_id, claim_id=claim_id, updated_at=now)
            self.session.add(row)
        return row

    def notes(self, account_id: str) -> dict[str, HolderNote]:
        rows = self.session.exec(
            select(PassportRecordRow).where(PassportRecordRow.account_id == account_id)
        ).all()
        return {r.claim_id: HolderNote(r.headline, r.notes) for r in rows}

    def save_note(self, account_id: str, claim_id: str, note: HolderNote, now: datetime) -> None:
        row = self._record(account_id, claim_id, now)
        row.headline, row.notes, row.updated_at = note.headline, note.notes, now

    # --- share links ----------------------------------------------------------------------

    def add_link(
        self, link_id: str, account_id: str, token_hash: str, request: ShareRequest, now: datetime
    ) -> None:
        self.session.add(
            ShareLinkRow(
                id=link_id,
                account_id=account_id,
                token_hash=token_hash,
                label=request.label,
                include_notes=request.include_notes,
                created_at=now,
                expires_at=request.expires_at,
            )
        )
        self.session.flush()  # no ORM relationships: the link must exist before its items
        for position, claim_id in enumerate(request.claim_ids):
            self.session.add(
                ShareLinkItemRow(link_id=link_id, claim_id=claim_id, position=position)
            )

    def links(self, account_id: str) -> list[ShareLink]:
        """The account's links, newest first, with how often and when they were opened."""
        rows = self.session.exec(
            select(ShareLinkRow)
            .where(ShareLinkRow.account_id == account_id)
            .order_by(col(ShareLinkRow.created_at).desc(), col(ShareLinkRow.id))
        ).all()
        return [self._link(row) for row in rows]

    def link_by_token(self, token_hash: str) -> ShareLink | None:
        row = self.session.exec(
            select(ShareLinkRow).where(ShareLinkRow.token_hash == token_hash)
        ).first()
        return self._link(row) if row else None

    def _link(self, row: ShareLinkRow) -> ShareLink:
        items = self.session.exec(
            select(ShareLinkItemRow.claim_id)
            .where(ShareLinkItemRow.link_id == row.id)
            .order_by(col(ShareLinkItemRow.position))
        ).all()
        opened = self.session.exec(
            select(func.count()).where(ShareLinkOpenRow.link_id == row.id)
        ).one()
        recent = self.session.exec(
            select(ShareLinkOpenRow.opened_at)
            .where(ShareLinkOpenRow.link_id == row.id)
            .order_by(col(ShareLinkOpenRow.opened_at).desc(), col(ShareLinkOpenRow.id).desc())
            .limit(RECENT_OPENS)
        ).all()
        return ShareLink(
            id=row.id,
            account_id=row.account_id,
            label=row.label,
            claim_ids=tuple(items),
            include_notes=row.include_notes,
            created_at=_utc(row.created_at) or row.created_at,
            expires_at=_utc(row.expires_at),
            revoked_at=_utc(row.revoked_at),
            opened=int(opened),
            recent_opens=tuple(_utc(t) or t for t in recent),
        )

    def revoke_link(self, account_id: str, link_id: str, now: datetime) -> bool:
        """Revoke one of the account's links; False if it has no such link. Revoking twice keeps
        the first time."""
        row = self.session.get(ShareLinkRow, link_id)
        if row is None or row.account_id != account_id:
            return False
        if row.revoked_at is None:
            row.revoked_at = now
        return True

    def log_open(self, link_id: str, now: datetime) -> None:
        self.session.add(ShareLinkOpenRow(link_id=link_id, opened_at=now))
