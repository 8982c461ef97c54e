"""SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON document.

Pure: a document and operations in, the new document out. The caller then validates the
result exactly as it validates a PUT body, so a PATCH can never store what a PUT would
refuse, and a failing operation leaves nothing half-applied.

Accepts what Okta and Microsoft Entra really send: capitalised op names (``"Replace"``),
path-less operations whose value holds several attributes (``{"op": "replace", "value":
{"active": false}}``, also with dotted or URN-qualified keys such as ``"name.givenName"``),
value filters in paths (``members[value eq "..."]``, ``emails[type eq "work"].value``),
and removal of listed members (``{"op": "Remove", "path": "members", "value": [...]}``).
Attribute names are matched case-insensitively, as SCIM requires.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.scim.errors import bad_request
from gateway.scim.filters import Equals, parse_equals

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_PATH = re.compile(r"^([A-Za-z$][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z$][\w$-]*))?$")

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Path:
    container: str | None  # an extension schema URN, or None for core attributes
    attribute: str
    filter: Equals | None = None
    sub_attribute: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceShape:
    """What the patcher needs to know about a resource type."""

    core_schema: str
    extensions: tuple[str, ...]
    # Canonical spelling of known attribute names (SCIM names are case-insensitive).
    attributes: tuple[str, ...]

    def canonical(self, name: str) -> str:
        for known in (*self.attributes, *self.extensions):
            if known.lower() == name.lower():
                return known
        return name


def parse_path(raw: str, shape: ResourceShape) -> Path:
    container: str | None = None
    rest = raw.strip()
    for schema in (*shape.extensions, shape.core_schema):
        if rest.lower() == schema.lower():
            return Path(None, schema)
        if rest.lower().startswith(schema.lower() + ":"):
            rest = rest[len(schema) + 1 :]
            container = schema if schema != shape.core_schema else None
            break
    match = _PATH.match(rest)
    if match is None:
        raise bad_request("invalidPath", f"The PATCH path {raw!r} is not a valid SCIM path.")
    attribute, filter_text, sub_attribute = match.groups()
    value_filter = None
    if filter_text is not None:
        value_filter = parse_equals(filter_text, allowed=("value", "type", "display", "primary"))
    return Path(
        container,
        shape.canonical(attribute),
        value_filter,
        shape.canonical(sub_attribute) if sub_attribute else None,
    )


def apply_patch(document: Document, body: Mapping[str, Any], shape: ResourceShape) -> Document:
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise bad_request(
            "invalidSyntax", "A PATCH body needs a non-empty `Operations` list (RFC 7644 §3.5.2)."
        )
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise bad_request("invalidSyntax", f"Operations[{index}] is not an object.")
        _apply_one(result, operation, shape, index)
    return result


def _apply_one(
    document: Document, operation: dict[str, Any], shape: ResourceShape, index: int
) -> None:
    op = str(operation.get("op", "")).lower()
    if op not in ("add", "replace", "remove"):
        raise bad_request(
            "invalidSyntax",
            f"Operations[{index}].op is {operation.get('op')!r}; use add, replace or remove.",
        )
    raw_path = operation.get("path")
    value = operation.get("value")
    if raw_path is None or raw_path == "":
        if op == "remove":
            raise bad_request("noTarget", f"Operations[{index}]: remove needs a path.")
        if not isinstance(value, dict):
            raise bad_request(
                "invalidSyntax",
                f"Operations[{index}] has no path, so its value must be an object of attributes.",
            )
        for key, item in value.items():
            if any(key.lower() == schema.lower() for schema in shape.extensions) and isinstance(
                item, dict
            ):
                for sub_key, sub_item in item.items():
                    _set(
                        document, Path(shape.canonical(key), shape.canonical(sub_key)), op, sub_item
                    )
            else:
                _set(document, parse_path(key, shape), op, item)
        return
    if not isinstance(raw_path, str):
        raise bad_request("invalidPath", f"Operations[{index}].path must be a string.")
    path = parse_path(raw_path, shape)
    if op == "remove":
        _remove(document, path, value)
    else:
        _set(document, path, op, value)


def _key(container: Mapping[str, Any], name: str) -> str:
    for existing in container:
        if existing.lower() == name.lower():
            return existing
    return name


def _parent(document: Document, path: Path) -> Document:
    if path.container is None:
        return document
    key = _key(document, path.container)
    parent = document.get(key)
    if not isinstance(parent, dict):
        parent = document[key] = {}
    return parent


def _matches(item: Any, value_filter: Equals) -> bool:
    if not isinstance(item, dict):
        return False
    actual = item.get(_key(item, value_filter.attribute))
    return str(actual).lower() == value_filter.value.lower()


def _identity(item: Any) -> Any:
    return item.get("value") if isinstance(item, dict) else item


def _set(document: Document, path: Path, op: str, value: Any) -> None:
    parent = _parent(document, path)
    key = _key(parent, path.attribute)
    current = parent.get(key)
    if path.filter is not None:
        items = current if isinstance(current, list) else []
        targets = [item for item in items if _matches(item, path.filter)]
        if not targets:
            new_item: dict[str, Any] = {path.filter.attribute: path.filter.value}
            items.append(new_item)
            targets = [new_item]
        for item in targets:
            if path.sub_attribute is not None:
                item[_key(item, path.sub_attribute)] = value
            elif isinstance(value, dict):
                item.update(value)
        _single_primary(items, targets)
        parent[key] = items
        return
    if path.sub_attribute is not None:
        sub = current if isinstance(current, dict) else {}
        sub[_key(sub, path.sub_attribute)] = value
        parent[key] = sub
        return
    if op == "add" and isinstance(current, list):
        additions = value if isinstance(value, list) else [value]
        present = {_identity(item) for item in current}
        added = [item for item in additions if _identity(item) not in present]
        current.extend(added)
        _single_primary(current, added)
        return
    if isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
        return
    parent[key] = value


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _single_primary(items: list[Any], chosen: list[Any]) -> None:
    """A value added or made primary makes the attribute's other values non-primary
    (RFC 7644 §3.5.2), so the result still has at most one primary value."""
    if not any(_primary(item) for item in chosen):
        return
    for item in items:
        if _primary(item) and all(item is not other for other in chosen):
            item[_key(item, "primary")] = False


def _primary(item: Any) -> bool:
    return isinstance(item, dict) and _is_true(item.get(_key(item, "primary")))


def _remove(document: Document, path: Path, value: Any) -> None:
    parent = _parent(document, path)
    key = _key(parent, path.attribute)
    current = parent.get(key)
    if path.filter is not None:
        if not isinstance(current, list):
            return
        if path.sub_attribute is not None:
            for item in current:
                if _matches(item, path.filter):
                    item.pop(_key(item, path.sub_attribute), None)
            return
        parent[key] = [item for item in current if not _matches(item, path.filter)]
        return
    if path.sub_attribute is not None:
        if isinstance(current, dict):
            current.pop(_key(current, path.sub_attribute), None)
        return
    if isinstance(current, list) and isinstance(value, list):
        # Entra removes members by listing them in the value.
        gone = {str(_identity(item)).lower() for item in value}
        parent[key] = [item for item in current if str(_identity(item)).lower() not in gone]
        return
    parent.pop(key, None)
