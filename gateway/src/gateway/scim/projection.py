"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5): which attributes of a
resource an answer holds.

Pure: a resource document and the two parameters in, the projected document out. Names are
matched case-insensitively and may be dotted (``name.givenName``) or qualified with a schema
URN (``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department``). ``schemas``,
``id`` and ``meta`` are always returned; attributes whose ``returned`` is ``request`` (a
group member's ``display``) only when asked for by name.
"""

from __future__ import annotations

from typing import Any

from gateway.scim.patch import ResourceShape

ALWAYS = ("schemas", "id", "meta")
_MISSING = object()

Path = tuple[str, ...]


def names(parameter: str | None) -> list[str]:
    """A comma-separated parameter's attribute names."""
    return [name.strip() for name in (parameter or "").split(",") if name.strip()]


def parse(raw: str, shape: ResourceShape) -> Path:
    """The keys leading to an attribute in a resource document."""
    text = raw.strip()
    for extension in shape.extensions:
        if text.lower() == extension.lower():
            return (extension,)
        if text.lower().startswith(extension.lower() + ":"):
            return (extension, *text[len(extension) + 1 :].split("."))
    if text.lower().startswith(shape.core_schema.lower() + ":"):
        text = text[len(shape.core_schema) + 1 :]
    return tuple(text.split("."))


def _key(node: dict[str, Any], name: str) -> str | None:
    for key in node:
        if key.lower() == name.lower():
            return key
    return None


def _pick(node: Any, path: Path) -> Any:
    if not path:
        return node
    if isinstance(node, list):
        items = [_pick(item, path) for item in node]
        return items if any(item is not _MISSING for item in items) else _MISSING
    if isinstance(node, dict):
        key = _key(node, path[0])
        if key is None:
            return _MISSING
        picked = _pick(node[key], path[1:])
        return _MISSING if picked is _MISSING else {key: picked}
    return _MISSING


def _merge(into: Any, more: Any) -> Any:
    if isinstance(into, dict) and isinstance(more, dict):
        for key, value in more.items():
            into[key] = _merge(into[key], value) if key in into else value
        return into
    if isinstance(into, list) and isinstance(more, list) and len(into) == len(more):
        return [_merge(a, b) for a, b in zip(into, more, strict=True)]
    return into if more is _MISSING else more


def _clean(node: Any) -> Any:
    # Items of a multi-valued attribute where nothing was picked are left out.
    if isinstance(node, list):
        return [_clean(item) for item in node if item is not _MISSING]
    if isinstance(node, dict):
        return {key: _clean(value) for key, value in node.items()}
    return node


def _drop(node: Any, path: Path) -> None:
    if isinstance(node, list):
        for item in node:
            _drop(item, path)
        return
    if not isinstance(node, dict):
        return
    key = _key(node, path[0])
    if key is None:
        return
    if len(path) == 1:
        del node[key]
    else:
        _drop(node[key], path[1:])


def project(
    resource: dict[str, Any],
    shape: ResourceShape,
    *,
    attributes: list[str],
    excluded: list[str],
    request_only: tuple[Path, ...] = (),
) -> dict[str, Any]:
    asked = [parse(name, shape) for name in attributes]
    asked_lower = {tuple(part.lower() for part in path) for path in asked}
    result: dict[str, Any]
    if asked:
        result = {key: resource[key] for key in ALWAYS if key in resource}
        for path in asked:
            picked = _pick(resource, path)
            if picked is not _MISSING:
                result = _merge(result, picked)
        result = _clean(result)
    else:
        result = dict(resource)
    for path in (parse(name, shape) for name in excluded):
        if path[0].lower() not in ALWAYS:
            _drop(result, path)
    for path in request_only:
        if tuple(part.lower() for part in path) not in asked_lower:
            _drop(result, path)
    return result
