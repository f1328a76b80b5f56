"""Email bodies from `templates/email/`: each message has a text part and an HTML part.

An adapter of its own, beside the web package (the other home of Jinja2), so that the services
that send mail need nothing from the web; `rpl.messages` chooses the template and the words around it. HTML parts autoescape (a claimant's name is not markup); text parts do not
(they are not HTML), and keep their line breaks.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

EMAIL_DIR = Path(__file__).resolve().parents[1] / "templates" / "email"


@functools.cache
def _environment(html: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(EMAIL_DIR),
        autoescape=html,
        undefined=StrictUndefined,  # a missing fact is a bug here, not a blank in someone's inbox
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> tuple[str, str]:
    """The text and HTML bodies of the email `name` (templates `name.txt` and `name.html`)."""
    text = _environment(False).get_template(f"{name}.txt").render(**context)
    html = _environment(True).get_template(f"{name}.html").render(**context)
    return text, html
