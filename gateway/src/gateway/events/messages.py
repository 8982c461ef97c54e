"""Messages to people, rendered from templates in the person's language.

``templates/<language>/<template>.txt``: the first line is the subject, the rest the
plain-text body; ``<template>.html`` is the HTML body (autoescaped). A language without a
template falls back to English. What a template receives is what the event carries: ids,
kinds, dates and a link, never a reporter, a note or an incident's description.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jinja2

FALLBACK_LANGUAGE = "en"
LANGUAGES = frozenset({"en", "nl"})

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("gateway.events", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    # Templates ship with the code: compiled once, never looked at on disk again.
    auto_reload=False,
)


def _when(value: Any) -> str:
    """A timestamp as people read it: ``2026-12-05 14:00 UTC``."""
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(instant, dt.datetime):
        return str(value)
    return f"{instant.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _words(value: Any) -> str:
    """An enum value as words: ``hr_review`` -> ``hr review``."""
    return str(value).replace("_", " ")


_environment.filters["when"] = _when
_environment.filters["words"] = _words


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def language_of(locale: str | None) -> str:
    """The language of a directory locale (``nl-NL``, ``nl_BE``, ``en``), if we have
    templates in it; English otherwise."""
    if not locale:
        return FALLBACK_LANGUAGE
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


def render(template: str, *, language: str, context: dict[str, Any]) -> Rendered:
    text = _environment.get_template(f"{language}/{template}.txt").render(context)
    subject, _, body = text.partition("\n")
    html = _environment.get_template(f"{language}/{template}.html").render(context)
    return Rendered(subject=subject.strip(), text=body.strip() + "\n", html=html)
