"""The SCIM filters integrators really send: ``attribute eq "value"`` (RFC 7644 §3.4.2.2).

Okta and Entra look people and groups up by ``userName``, ``externalId`` or
``displayName`` with ``eq`` before they create them, some integrations by e-mail address
(``emails.value eq``, ``emails eq`` or ``emails[value eq "..."]``, any of a user's
addresses); anything else is refused with ``invalidFilter`` rather than half-evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from gateway.scim.errors import bad_request
from kit.fields import UNSTORABLE_MESSAGE, has_unstorable

_QUOTED = r'("(?:[^"\\]|\\.)*")'
_EQUALS = re.compile(r"^\s*([A-Za-z][\w.:$-]*)\s+eq\s+" + _QUOTED + r"\s*$", re.IGNORECASE)
# A value path on a multi-valued attribute: emails[value eq "..."] means emails.value eq "...".
_VALUE_PATH = re.compile(
    r"^\s*([A-Za-z][\w$-]*)\[\s*([A-Za-z][\w$-]*)\s+eq\s+" + _QUOTED + r"\s*\]\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Equals:
    attribute: str  # as the caller spelled it, matched case-insensitively
    value: str


def parse_equals(expression: str, *, allowed: tuple[str, ...]) -> Equals:
    value_path = _VALUE_PATH.match(expression)
    if value_path is not None:
        expression = f"{value_path.group(1)}.{value_path.group(2)} eq {value_path.group(3)}"
    match = _EQUALS.match(expression)
    if match is None:
        raise bad_request(
            "invalidFilter",
            f'Unsupported filter {expression!r}: use `attribute eq "value"` with one of '
            f"{', '.join(allowed)}.",
        )
    attribute = match.group(1)
    canonical = {name.lower(): name for name in allowed}.get(attribute.lower())
    if canonical is None:
        raise bad_request(
            "invalidFilter",
            f"Filtering on {attribute!r} is not supported; use one of {', '.join(allowed)}.",
        )
    try:
        value = json.loads(match.group(2))
    except json.JSONDecodeError as exc:
        raise bad_request(
            "invalidFilter", f"The filter value is not a valid string: {exc}."
        ) from exc
    if has_unstorable(value):
        raise bad_request("invalidFilter", f"The filter value {UNSTORABLE_MESSAGE}.")
    return Equals(canonical, value)
