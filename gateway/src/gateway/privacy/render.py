"""A right-of-access export as a readable HTML page (the JSON document, laid out)."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = (
    "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
    "dl{margin:0 0 0 1rem}dt{font-weight:bold;margin-top:.4rem}dd{margin:0 0 0 1rem}"
    "ol{padding-left:1.5rem}li{margin:.4rem 0;border-left:2px solid #ccc;padding-left:.5rem}"
)


def to_html(document: dict[str, Any]) -> str:
    directory = document.get("directory", {}).get("person", {})
    name = directory.get("display_name") or document.get("person_id", "")
    title = f"Data held about {name}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{_node(document)}</body></html>"
    )


def _node(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "<em>none</em>"
        items = "".join(
            f"<dt>{escape(_label(str(key)))}</dt><dd>{_node(item)}</dd>"
            for key, item in value.items()
        )
        return f"<dl>{items}</dl>"
    if isinstance(value, list):
        if not value:
            return "<em>none</em>"
        return "<ol>" + "".join(f"<li>{_node(item)}</li>" for item in value) + "</ol>"
    if value is None:
        return "<em>not set</em>"
    return escape(str(value))


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()
