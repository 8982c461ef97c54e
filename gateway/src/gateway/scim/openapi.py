"""``GET /scim/v2/openapi.json``: an OpenAPI 3.1 document of the SCIM interface.

Generated from the code that serves it, never written by hand: the paths, methods and query
parameters come from the SCIM app's routes (FastAPI), each route says what it takes and
returns with :func:`operation` beside its decorator, and the resource schemas (``User``,
``Group``, ``EnterpriseUser``) are translated from the same attribute definitions ``/Schemas``
serves (``discovery.SCHEMAS``), so the two cannot disagree. A route without an
:func:`operation` makes the document fail to build (and its test fail).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.scim.discovery import SCHEMAS
from gateway.scim.errors import ERROR_SCHEMA, SCIM_MEDIA_TYPE
from gateway.scim.schemas import (
    BOOLEAN_SCHEMA,
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    LIST_SCHEMA,
    USER_SCHEMA,
)

EXTENSION = "x-scim-operation"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Every operation: the gateway refuses a caller without an API client secret (401) or
# without the scim scope (403), and holds each client to SCIM's rate budget (429).
ALWAYS = (401, 403, 429)
# A body named "User" or "Group" is validated as sent (with its required attributes).
REQUEST_SCHEMAS = {"User": "UserRequest", "Group": "GroupRequest"}
ERRORS: dict[int, str] = {
    400: "Not valid SCIM (`scimType` says why: invalidValue, invalidSyntax, invalidFilter, "
    "invalidPath, noTarget, mutability); `detail` names the attribute or parameter.",
    401: "No API client secret, or one that is unknown or revoked.",
    403: "The API client does not have the `scim` scope.",
    404: "No such resource (or a deleted user).",
    409: "`scimType` uniqueness: userName, externalId or displayName is taken.",
    413: "The body is larger than the gateway accepts.",
    429: "Over the API client's SCIM rate budget; retry after `Retry-After` seconds.",
}


def operation(
    summary: str,
    *,
    returns: str | None,
    status: int = 200,
    body: str | None = None,
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    """What a SCIM route takes and answers, for the document (``openapi_extra=``).

    ``returns`` and ``body`` name component schemas; ``errors`` are the statuses the route
    itself can answer besides 401, 403 and 429 (and 400 and 413 for a body)."""
    every = set(errors) | set(ALWAYS) | ({400, 413} if body else set())
    return {
        EXTENSION: {
            "summary": summary,
            "returns": returns,
            "status": status,
            "body": body,
            "errors": sorted(every),
        }
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    # SCIM's media type; plain JSON is accepted and answered alike (RFC 7644 §3.1).
    return {SCIM_MEDIA_TYPE: {"schema": schema}, "application/json": {"schema": schema}}


def _property(attribute: dict[str, Any]) -> dict[str, Any]:
    kind = attribute["type"]
    schema: dict[str, Any]
    if kind == "complex":
        schema = {
            "type": "object",
            "properties": {
                sub["name"]: _property(sub) for sub in attribute.get("subAttributes", [])
            },
        }
    elif kind == "boolean":
        schema = copy.deepcopy(BOOLEAN_SCHEMA)
    elif kind == "integer":
        schema = {"type": "integer"}
    elif kind == "decimal":
        schema = {"type": "number"}
    elif kind == "dateTime":
        schema = {"type": "string", "format": "date-time"}
    elif kind == "reference":
        # A URI in responses; in requests it is derived from `value`, so whatever is sent
        # (Okta sends "", Entra nothing) is ignored.
        schema = {"type": "string"}
        schema["description"] = (
            "The URI of the " + " or ".join(attribute["referenceTypes"]) + "; ignored in requests."
        )
    else:
        schema = {"type": "string"}
    if attribute.get("canonicalValues"):
        schema["examples"] = list(attribute["canonicalValues"])
    if attribute["multiValued"]:
        schema = {"type": "array", "items": schema}
    if not attribute["required"]:
        # null is the same as unassigned (RFC 7643 §2.5): sent, it clears the attribute.
        if "anyOf" in schema:
            schema["anyOf"].append({"type": "null"})
        else:
            schema["type"] = [schema["type"], "null"]
    if attribute["mutability"] == "readOnly":
        schema["readOnly"] = True
    elif attribute["mutability"] == "writeOnly":
        schema["writeOnly"] = True
    return schema


def _resource(schema_id: str, *, extensions: tuple[str, ...] = ()) -> dict[str, Any]:
    definition = SCHEMAS[schema_id]
    properties: dict[str, Any] = {
        "schemas": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "examples": [[schema_id]],
        },
        "id": {"type": "string", "format": "uuid", "readOnly": True},
        "meta": {**_ref("Meta"), "readOnly": True},
    }
    properties |= {a["name"]: _property(a) for a in definition["attributes"]}
    for extension in extensions:
        properties[extension] = {"anyOf": [_ref(SCHEMAS[extension]["name"]), {"type": "null"}]}
    return {
        "type": "object",
        "description": f"{definition['description'].rstrip('.')} (`{schema_id}`). Attribute "
        "names are case-insensitive; attributes not listed are accepted and ignored.",
        "properties": properties,
    }


def _request(name: str, schema_id: str) -> dict[str, Any]:
    """A resource as sent: its required attributes must be there. (Answers need not hold
    them: `attributes=` may leave them out.)"""
    return {
        "allOf": [_ref(name)],
        "required": [a["name"] for a in SCHEMAS[schema_id]["attributes"] if a["required"]],
    }


def _list(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"type": "string"}, "examples": [[LIST_SCHEMA]]},
            "totalResults": {"type": "integer"},
            "startIndex": {"type": "integer"},
            "itemsPerPage": {"type": "integer"},
            "Resources": {"type": "array", "items": _ref(item)},
        },
        "required": ["schemas", "totalResults", "Resources"],
    }


def _discovery_object(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {"schemas": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": True,
    }


def components() -> dict[str, Any]:
    enterprise = SCHEMAS[ENTERPRISE_SCHEMA]
    return {
        "User": _resource(USER_SCHEMA, extensions=(ENTERPRISE_SCHEMA,)),
        enterprise["name"]: {
            "type": "object",
            "description": f"{enterprise['description']} (`{ENTERPRISE_SCHEMA}`)",
            "properties": {a["name"]: _property(a) for a in enterprise["attributes"]},
        },
        "Group": _resource(GROUP_SCHEMA),
        "UserRequest": _request("User", USER_SCHEMA),
        "GroupRequest": _request("Group", GROUP_SCHEMA),
        "UserList": _list("User"),
        "GroupList": _list("Group"),
        "Meta": {
            "type": "object",
            "properties": {
                "resourceType": {"type": "string"},
                "created": {"type": "string", "format": "date-time"},
                "lastModified": {"type": "string", "format": "date-time"},
                "location": {"type": "string", "format": "uri"},
                "version": {"type": "string"},
            },
        },
        "PatchOp": {
            "type": "object",
            "description": "RFC 7644 §3.5.2. `op` in any case (`Replace`); `path` optional "
            "for add and replace (then `value` is an object of attributes); value filters "
            'such as `emails[type eq "work"].value` and `members[value eq "<id>"]`.',
            "properties": {
                "schemas": {
                    "type": "array",
                    "items": {"type": "string"},
                    "examples": [[PATCH_SCHEMA]],
                },
                "Operations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "op": {"type": "string", "examples": ["add", "replace", "remove"]},
                            "path": {"type": "string"},
                            "value": {},
                        },
                        "required": ["op"],
                    },
                },
            },
            "required": ["Operations"],
        },
        "Error": {
            "type": "object",
            "description": "RFC 7644 §3.12, on every error under /scim/v2.",
            "properties": {
                "schemas": {
                    "type": "array",
                    "items": {"type": "string"},
                    "examples": [[ERROR_SCHEMA]],
                },
                "status": {"type": "string"},
                "scimType": {"type": "string"},
                "detail": {"type": "string"},
            },
            "required": ["schemas", "status"],
        },
        "ServiceProviderConfig": _discovery_object("RFC 7643 §5."),
        "ResourceType": _discovery_object("RFC 7643 §6."),
        "Schema": _discovery_object("RFC 7643 §7: the attribute definitions of a resource."),
        "ResourceTypeList": _list("ResourceType"),
        "SchemaList": _list("Schema"),
        "OpenApiDocument": _discovery_object("This document."),
    }


def _responses(declared: dict[str, Any]) -> dict[str, Any]:
    status = declared["status"]
    success: dict[str, Any] = {"description": "Success." if status < 400 else "Not supported."}
    returns = declared.get("returns")  # left out by FastAPI when None
    if returns is not None:
        success["content"] = _content(_ref(returns))
    if status == 201:
        success["headers"] = {
            "Location": {
                "description": "The new resource's URL (also its `meta.location`).",
                "schema": {"type": "string", "format": "uri"},
            }
        }
    responses: dict[str, Any] = {str(status): success}
    for code in declared["errors"]:
        error: dict[str, Any] = {"description": ERRORS[code], "content": _content(_ref("Error"))}
        if code == 429:
            error["headers"] = {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
            }
        responses[str(code)] = error
    return responses


def build(app: FastAPI, *, public_url: str) -> dict[str, Any]:
    document = get_openapi(
        title="Social media policy program: SCIM 2.0",
        version="2.0",
        description="Provisioning of people and groups by an identity provider (RFC 7643, "
        "RFC 7644). Authenticate with an API client secret that has the `scim` scope, as "
        "`Authorization: Bearer smp_...`. Discovery: `/ServiceProviderConfig`, "
        "`/ResourceTypes`, `/Schemas`. The rest of the API is described at `/openapi.json`.",
        routes=app.routes,
        servers=[{"url": public_url}],
    )
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            declared = op.pop(EXTENSION, None)
            if declared is None:
                raise LookupError(f"{method.upper()} {path} has no operation() declaration")
            op["summary"] = declared["summary"]
            op["tags"] = ["scim"]
            op["security"] = [{"scimBearer": []}]
            if any(p.get("in") == "query" for p in op.get("parameters", [])):
                # A query parameter out of its bounds is a SCIM 400 (invalidValue).
                declared["errors"] = sorted({*declared["errors"], 400})
            op["responses"] = _responses(declared)
            body = declared.get("body")
            if body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": _content(_ref(REQUEST_SCHEMAS.get(body, body))),
                }
            else:
                op.pop("requestBody", None)
    document["components"] = {
        "schemas": components(),
        "securitySchemes": {
            "scimBearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API client secret with the `scim` scope.",
            }
        },
    }
    document["tags"] = [{"name": "scim", "description": "SCIM 2.0 provisioning."}]
    return document
