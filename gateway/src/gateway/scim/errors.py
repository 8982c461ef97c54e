"""SCIM's own error body (RFC 7644 §3.12), used on every route under ``/scim/v2``.

ScimError                 400 (any status, with an optional ``scimType``)
├── invalidFilter         400  a filter we cannot evaluate
├── invalidSyntax         400  a body or PATCH operation that is not SCIM
├── invalidValue          400  an attribute value that is not allowed
├── invalidPath           400  a PATCH path we cannot resolve
├── noTarget              400  a PATCH filter that matched nothing to remove
├── mutability            400  an attempt to change a read-only attribute
└── uniqueness            409  userName, externalId or displayName already taken
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"


class ScimResponse(JSONResponse):
    media_type = SCIM_MEDIA_TYPE


class ScimError(Exception):
    def __init__(self, status: int, detail: str, *, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def bad_request(scim_type: str, detail: str) -> ScimError:
    return ScimError(400, detail, scim_type=scim_type)


def not_found(resource: str, resource_id: object) -> ScimError:
    return ScimError(404, f"{resource} {resource_id} not found.")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, scim_type="uniqueness")


def scim_error_response(
    status: int,
    detail: str,
    *,
    scim_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ScimResponse:
    body: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type is not None:
        body["scimType"] = scim_type
    return ScimResponse(body, status_code=status, headers=dict(headers or {}))
