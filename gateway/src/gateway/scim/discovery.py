"""SCIM discovery documents (RFC 7643 §5-7): what this server supports, so an identity
provider can configure itself."""

from __future__ import annotations

from typing import Any

from gateway.scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, NAME_PARTS, USER_SCHEMA
from gateway.scim.service import MAX_COUNT

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attribute(
    name: str,
    kind: str = "string",
    *,
    required: bool = False,
    multi: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    sub: list[dict[str, Any]] | None = None,
    returned: str = "default",
    canonical: tuple[str, ...] = (),
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "required": required,
        "caseExact": False,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if canonical:
        attribute["canonicalValues"] = list(canonical)
    if sub is not None:
        attribute["subAttributes"] = sub
    return attribute


def _reference(*types: str, mutability: str = "immutable") -> dict[str, Any]:
    """The ``$ref`` sub-attribute we return beside a ``value`` (RFC 7643 §2.3.7): clients
    that build their models from /Schemas refuse an attribute it does not declare."""
    attribute = _attribute("$ref", "reference", mutability=mutability)
    attribute["referenceTypes"] = list(types)
    attribute["caseExact"] = True
    return attribute


_MEMBER = [
    _attribute("value", required=True, mutability="immutable"),
    _reference("User"),
    # The member's name from the directory: only on request (`attributes=members.display`),
    # so members come back as the identity provider sent them.
    _attribute("display", mutability="readOnly", returned="request"),
]
# Language tags (BCP 47) with templates here, and their common regional forms; any other
# tag of at most 35 characters is accepted too (mail then falls back to English).
LANGUAGE_TAGS = ("en", "en-GB", "en-US", "nl", "nl-NL", "nl-BE")
_GROUP = [
    _attribute("value", mutability="readOnly"),
    _reference("Group", mutability="readOnly"),
    _attribute("display", mutability="readOnly"),
]

SCHEMAS: dict[str, dict[str, Any]] = {
    USER_SCHEMA: {
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person of the organisation.",
        "attributes": [
            _attribute("userName", required=True, uniqueness="server"),
            _attribute("externalId"),
            _attribute(
                "name",
                "complex",
                sub=[_attribute(part) for part in NAME_PARTS],
            ),
            _attribute("displayName"),
            _attribute(
                "emails",
                "complex",
                multi=True,
                sub=[
                    _attribute("value"),
                    _attribute("display"),
                    _attribute("type"),
                    _attribute("primary", "boolean"),
                ],
            ),
            _attribute("active", "boolean"),
            _attribute("title"),
            _attribute("locale", canonical=LANGUAGE_TAGS),
            _attribute("preferredLanguage", canonical=LANGUAGE_TAGS),
            _attribute("groups", "complex", multi=True, mutability="readOnly", sub=_GROUP),
        ],
    },
    ENTERPRISE_SCHEMA: {
        "id": ENTERPRISE_SCHEMA,
        "name": "EnterpriseUser",
        "description": "Employee number, department and manager.",
        "attributes": [
            _attribute("employeeNumber"),
            _attribute("department"),
            _attribute(
                "manager",
                "complex",
                sub=[
                    _attribute("value"),
                    _reference("User", mutability="readWrite"),
                    _attribute("displayName", mutability="readOnly"),
                ],
            ),
        ],
    },
    GROUP_SCHEMA: {
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A group; membership gives roles (see GATEWAY_GROUP_ROLES).",
        "attributes": [
            _attribute("displayName", required=True, uniqueness="server"),
            _attribute("externalId"),
            _attribute("members", "complex", multi=True, sub=_MEMBER),
        ],
    },
}


def schema_resources(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            **schema,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema_id}"},
        }
        for schema_id, schema in SCHEMAS.items()
    ]


def resource_types(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/Group",
            },
        },
    ]


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": f"{base_url.rsplit('/scim/', 1)[0]}/docs",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "API client secret",
                "description": "An API client secret with the `scim` scope, sent as "
                "`Authorization: Bearer smp_...`.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }
