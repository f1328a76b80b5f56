"""Outgoing mail: an outbox folder (embedded default) or SMTP, behind one `send` method."""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from rpl.tokens import new_token

log = logging.getLogger("rpl.mail")


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


def _email(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


@dataclass
class OutboxMailer:
    """Writes each message as an .eml file in `folder` and logs it: the embedded default's mail."""

    folder: Path
    sender: str = "rpl@localhost"

    def send(self, message: Message) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", message.to)
        path = self.folder / f"{stamp}-{safe_to}-{new_token()[:8]}.eml"
        path.write_bytes(bytes(_email(message, self.sender)))
        log.info("mail to %s: %s (%s)", message.to, message.subject, path)
        return path

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    sender: str = "rpl@localhost"
    timeout: float = 30.0

    def send(self, message: Message) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(_email(message, self.sender))
        log.info("mail to %s via %s:%s: %s", message.to, self.host, self.port, message.subject)
