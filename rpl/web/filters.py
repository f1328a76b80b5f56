"""Template filters: the logic pages need, kept out of the templates."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from jinja2 import Environment

from rpl.credentials import describe_extent, describe_period
from rpl.verify import parse_datetime

STATE_WORDS = {
    "draft": "Not yet sent",
    "requested": "Waiting for the organisation",
    "confirmed": "Confirmed — credential being issued",
    "amended": "The organisation proposed corrections",
    "declined": "Declined by the organisation",
    "expired": "Nobody answered in time",
    "issued": "Confirmed and issued",
    "revoked": "Revoked by the organisation",
    "suspended": "Suspended by the organisation",
}

CHECK_WORDS = {
    "json": "The file is well-formed",
    "structure": "It is a verifiable credential",
    "contexts": "Its vocabulary is known",
    "schema": "It follows the Open Badges 3.0 rules",
    "proof": "The signature is intact",
    "issuer": "It was signed by the organisation named as issuer",
    "validity": "It is within its validity period",
    "status": "It has not been revoked",
    "internal": "The check could be completed",
}


def when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = parse_datetime(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%d %B %Y, %H:%M UTC")
    return str(value)


def day(value: Any) -> str:
    try:
        return parse_datetime(value).strftime("%d %B %Y")
    except (ValueError, TypeError):
        return str(value)


def state_words(state: Any) -> str:
    return STATE_WORDS.get(getattr(state, "value", str(state)), str(state))


def check_words(name: str) -> str:
    return CHECK_WORDS.get(name, name)


_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#|!{}()+.-])")


def paragraphs(markdown: Any) -> list[str]:
    """OB 3.0 narratives are Markdown; ours are plain paragraphs with escaped punctuation.
    Shown as text (autoescaped), one paragraph each, without the escapes."""
    if not isinstance(markdown, str):
        return []
    blocks = (b.strip() for b in markdown.split("\n\n"))
    return [_MARKDOWN_ESCAPE.sub(r"\1", " ".join(b.split())) for b in blocks if b]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def install(env: Environment) -> None:
    env.filters.update(
        when=when,
        day=day,
        state_words=state_words,
        check_words=check_words,
        paragraphs=paragraphs,
        as_list=as_list,
    )
    env.globals.update(describe_period=describe_period, describe_extent=describe_extent)
