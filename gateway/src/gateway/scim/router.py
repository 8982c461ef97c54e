"""``/scim/v2``: its own small app (mounted by the gateway), so that every answer under it,
unknown paths and wrong methods included, carries SCIM's error body, and so that only API
clients with the ``scim`` scope get in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api_clients.schemas import Scope as ApiScope
from gateway.deps import SessionDep
from gateway.events.directory import Change, person_changed
from gateway.models import Group, Person
from gateway.privacy.roles import Membership, membership, record_role_changes
from gateway.scim import discovery, projection, service
from gateway.scim import openapi as scim_openapi
from gateway.scim.errors import ScimError, ScimResponse, not_found, scim_error_response
from gateway.scim.filters import Equals, parse_equals
from gateway.scim.openapi import operation
from gateway.scim.schemas import (
    GROUP_SHAPE,
    USER_SHAPE,
    ScimGroupIn,
    ScimUserIn,
    group_resource,
    list_response,
    parse,
    user_resource,
)
from kit.errors import DomainError
from kit.identity import Caller, PrincipalKind

PREFIX = "/scim/v2"
DEFAULT_COUNT = 100
ScimBody = Annotated[dict[str, Any], Body()]
# Out of range of a 64-bit integer is a SCIM 400 (invalidValue); within it, startIndex
# below 1 reads as 1 and count below 0 as 0 (RFC 7644 section 3.4.2.4).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
StartIndex = Annotated[
    int,
    Query(
        alias="startIndex",
        ge=INT64_MIN,
        le=INT64_MAX,
        description="1-based position of the first result; below 1 reads as 1.",
    ),
]
Count = Annotated[
    int,
    Query(
        ge=INT64_MIN,
        le=INT64_MAX,
        description="Results per page, at most 200; below 0 reads as 0 (only totalResults).",
    ),
]
Filter = Annotated[
    str | None,
    Query(
        alias="filter",
        description='`attribute eq "value"`. Users: userName, externalId, id, emails.value '
        '(also `emails eq` and `emails[value eq "..."]`); Groups: displayName, externalId, id.',
    ),
]

Attributes = Annotated[
    str | None,
    Query(
        alias="attributes",
        max_length=1000,
        description="Comma-separated attributes to return (besides schemas, id and meta), "
        "e.g. `userName,name.givenName` (RFC 7644 §3.4.2.5).",
    ),
]
ExcludedAttributes = Annotated[
    str | None,
    Query(
        alias="excludedAttributes",
        max_length=1000,
        description="Comma-separated attributes to leave out; `members` leaves each group's "
        "members out without reading them (what Entra sends).",
    ),
]


@dataclass(frozen=True, slots=True)
class View:
    """Which attributes an answer holds (``attributes``, ``excludedAttributes``)."""

    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def leaves_out(self, name: str) -> bool:
        if any(e.lower() == name.lower() for e in self.excluded):
            return True
        return bool(self.attributes) and not any(
            a.lower().split(".")[0] == name.lower() for a in self.attributes
        )

    def user(self, resource: dict[str, Any]) -> dict[str, Any]:
        return projection.project(
            resource, USER_SHAPE, attributes=list(self.attributes), excluded=list(self.excluded)
        )

    def group(self, resource: dict[str, Any]) -> dict[str, Any]:
        return projection.project(
            resource,
            GROUP_SHAPE,
            attributes=list(self.attributes),
            excluded=list(self.excluded),
            request_only=(("members", "display"),),
        )


def view(attributes: Attributes = None, excluded_attributes: ExcludedAttributes = None) -> View:
    return View(tuple(projection.names(attributes)), tuple(projection.names(excluded_attributes)))


ViewDep = Annotated[View, Depends(view)]
DEFAULT_VIEW = View()

router = APIRouter()


def base_url(request: Request) -> str:
    return str(request.app.state.base_url)


def forget(request: Request, person_ids: set[uuid.UUID]) -> None:
    """Roles and the active flag are cached per gateway; drop the people who changed."""
    for person_id in person_ids:
        request.app.state.forget_person(person_id)


def where(expression: str | None, *, allowed: tuple[str, ...]) -> Equals | None:
    return parse_equals(expression, allowed=allowed) if expression else None


def _resource_id(raw: str, resource: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise not_found(resource, raw) from None


# -- users ------------------------------------------------------------------------------


async def _user_response(
    request: Request,
    session: SessionDep,
    person: Person,
    status: int = 200,
    *,
    shown: View = DEFAULT_VIEW,
) -> ScimResponse:
    groups = (await service.groups_of(session, [person.id])).get(person.id, [])
    emails = (await service.emails_of(session, [person.id])).get(person.id, [])
    resource = shown.user(
        user_resource(person, emails=emails, groups=groups, base_url=base_url(request))
    )
    headers = {"Location": resource["meta"]["location"]} if status == 201 else None
    return ScimResponse(resource, status_code=status, headers=headers)


@router.get(
    "/Users",
    openapi_extra=operation(
        "List or find users (filter, startIndex, count, attributes, excludedAttributes)",
        returns="UserList",
        errors=(400,),
    ),
)
async def list_users(
    request: Request,
    session: SessionDep,
    shown: ViewDep,
    filter_expression: Filter = None,
    start_index: StartIndex = 1,
    count: Count = DEFAULT_COUNT,
) -> ScimResponse:
    condition = where(filter_expression, allowed=service.USER_FILTERS)
    start_index, count = max(start_index, 1), max(count, 0)
    total, people = await service.list_users(
        session, where=condition, start_index=start_index, count=count
    )
    groups = await service.groups_of(session, [p.id for p in people])
    emails = await service.emails_of(session, [p.id for p in people])
    resources = [
        shown.user(
            user_resource(
                p,
                emails=emails.get(p.id, []),
                groups=groups.get(p.id, []),
                base_url=base_url(request),
            )
        )
        for p in people
    ]
    return ScimResponse(list_response(resources, total=total, start_index=start_index))


def _change(was_active: bool, person: Person) -> Change:
    return "deactivated" if was_active and not person.active else "updated"


async def _tell(request: Request, session: AsyncSession, person: Person, change: Change) -> None:
    """The directory event of the change, in its transaction (README "Events")."""
    await person_changed(session, outgoing=request.app.state.outgoing, person=person, change=change)


@router.post(
    "/Users",
    openapi_extra=operation(
        "Create a user", returns="User", status=201, body="User", errors=(409,)
    ),
)
async def create_user(request: Request, session: SessionDep, body: ScimBody) -> ScimResponse:
    person = await service.create_user(session, data=parse(ScimUserIn, body))
    await _tell(request, session, person, "created")
    forget(request, {person.id})
    return await _user_response(request, session, person, status=201)


@router.get("/Users/{user_id}", openapi_extra=operation("A user", returns="User", errors=(404,)))
async def get_user(
    request: Request, session: SessionDep, user_id: str, shown: ViewDep
) -> ScimResponse:
    person = await service.get_user(session, user_id=_resource_id(user_id, "User"))
    return await _user_response(request, session, person, shown=shown)


@router.put(
    "/Users/{user_id}",
    openapi_extra=operation("Replace a user", returns="User", body="User", errors=(404, 409)),
)
async def replace_user(
    request: Request, session: SessionDep, user_id: str, body: ScimBody
) -> ScimResponse:
    person = await service.get_user(session, user_id=_resource_id(user_id, "User"))
    was_active = person.active
    await service.replace_user(session, person=person, data=parse(ScimUserIn, body))
    await _tell(request, session, person, _change(was_active, person))
    forget(request, {person.id})
    return await _user_response(request, session, person)


@router.patch(
    "/Users/{user_id}",
    openapi_extra=operation(
        "Change a user (PATCH operations)", returns="User", body="PatchOp", errors=(404, 409)
    ),
)
async def patch_user(
    request: Request, session: SessionDep, user_id: str, body: ScimBody
) -> ScimResponse:
    person = await service.get_user(session, user_id=_resource_id(user_id, "User"))
    was_active = person.active
    await service.patch_user(session, person=person, body=body)
    await _tell(request, session, person, _change(was_active, person))
    forget(request, {person.id})
    return await _user_response(request, session, person)


@router.delete(
    "/Users/{user_id}",
    status_code=204,
    openapi_extra=operation(
        "Deactivate a user and hide them from SCIM", returns=None, status=204, errors=(404,)
    ),
)
async def delete_user(request: Request, session: SessionDep, user_id: str) -> Response:
    person = await service.get_user(session, user_id=_resource_id(user_id, "User"))
    groups = (await service.groups_of(session, [person.id])).get(person.id, [])
    was_active = person.active
    await service.delete_user(session, person=person)
    if was_active:
        await _tell(request, session, person, "deactivated")
    forget(request, {person.id})
    for group in groups:
        await record_role_changes(
            session,
            request,
            before=membership(group.id, group.display_name, [person.id]),
            after=membership(group.id, group.display_name, ()),
        )
    return Response(status_code=204)


# -- groups -----------------------------------------------------------------------------


async def _group_response(
    request: Request,
    session: SessionDep,
    group: Group,
    status: int = 200,
    *,
    shown: View = DEFAULT_VIEW,
) -> ScimResponse:
    skip_members = shown.leaves_out("members")
    members = [] if skip_members else (await service.members_of(session, [group.id]))[group.id]
    resource = shown.group(group_resource(group, members=members, base_url=base_url(request)))
    if skip_members:
        resource.pop("members", None)
    headers = {"Location": resource["meta"]["location"]} if status == 201 else None
    return ScimResponse(resource, status_code=status, headers=headers)


@router.get(
    "/Groups",
    openapi_extra=operation(
        "List or find groups (filter, startIndex, count, attributes, excludedAttributes)",
        returns="GroupList",
        errors=(400,),
    ),
)
async def list_groups(
    request: Request,
    session: SessionDep,
    shown: ViewDep,
    filter_expression: Filter = None,
    start_index: StartIndex = 1,
    count: Count = DEFAULT_COUNT,
) -> ScimResponse:
    condition = where(filter_expression, allowed=("displayName", "externalId", "id"))
    start_index, count = max(start_index, 1), max(count, 0)
    total, groups = await service.list_groups(
        session, where=condition, start_index=start_index, count=count
    )
    # Entra lists groups with excludedAttributes=members: large groups stay cheap.
    skip_members = shown.leaves_out("members")
    members = {} if skip_members else await service.members_of(session, [g.id for g in groups])
    resources = []
    for group in groups:
        resource = shown.group(
            group_resource(group, members=members.get(group.id, []), base_url=base_url(request))
        )
        if skip_members:
            resource.pop("members", None)
        resources.append(resource)
    return ScimResponse(list_response(resources, total=total, start_index=start_index))


async def _membership(session: SessionDep, group: Group) -> Membership:
    members = (await service.members_of(session, [group.id]))[group.id]
    return membership(group.id, group.display_name, (person.id for person in members))


@router.post(
    "/Groups",
    openapi_extra=operation(
        "Create a group", returns="Group", status=201, body="Group", errors=(409,)
    ),
)
async def create_group(request: Request, session: SessionDep, body: ScimBody) -> ScimResponse:
    group, changed = await service.create_group(session, data=parse(ScimGroupIn, body))
    forget(request, changed)
    await record_role_changes(
        session,
        request,
        before=membership(group.id, None, ()),
        after=await _membership(session, group),
    )
    return await _group_response(request, session, group, status=201)


@router.get(
    "/Groups/{group_id}",
    openapi_extra=operation("A group", returns="Group", errors=(400, 404)),
)
async def get_group(
    request: Request,
    session: SessionDep,
    group_id: str,
    shown: ViewDep,
) -> ScimResponse:
    group = await service.get_group(session, group_id=_resource_id(group_id, "Group"))
    return await _group_response(request, session, group, shown=shown)


@router.put(
    "/Groups/{group_id}",
    openapi_extra=operation("Replace a group", returns="Group", body="Group", errors=(404, 409)),
)
async def replace_group(
    request: Request, session: SessionDep, group_id: str, body: ScimBody
) -> ScimResponse:
    group = await service.get_group(session, group_id=_resource_id(group_id, "Group"))
    before = await _membership(session, group)
    forget(
        request, await service.replace_group(session, group=group, data=parse(ScimGroupIn, body))
    )
    await record_role_changes(
        session, request, before=before, after=await _membership(session, group)
    )
    return await _group_response(request, session, group)


@router.patch(
    "/Groups/{group_id}",
    openapi_extra=operation(
        "Change a group (PATCH operations)", returns="Group", body="PatchOp", errors=(404, 409)
    ),
)
async def patch_group(
    request: Request, session: SessionDep, group_id: str, body: ScimBody
) -> ScimResponse:
    group = await service.get_group(session, group_id=_resource_id(group_id, "Group"))
    before = await _membership(session, group)
    forget(request, await service.patch_group(session, group=group, body=body))
    await record_role_changes(
        session, request, before=before, after=await _membership(session, group)
    )
    return await _group_response(request, session, group)


@router.delete(
    "/Groups/{group_id}",
    status_code=204,
    openapi_extra=operation("Delete a group", returns=None, status=204, errors=(404,)),
)
async def delete_group(request: Request, session: SessionDep, group_id: str) -> Response:
    group = await service.get_group(session, group_id=_resource_id(group_id, "Group"))
    before = await _membership(session, group)
    forget(request, await service.delete_group(session, group=group))
    await record_role_changes(session, request, before=before, after=membership(group.id, None, ()))
    return Response(status_code=204)


@router.post(
    "/.search",
    openapi_extra=operation(
        "Search across resource types: not supported (501)", returns="Error", status=501
    ),
)
async def search_everything() -> Response:
    # RFC 7644 §3.4.3 makes it optional; §3.12 answers an unsupported operation with 501.
    raise ScimError(
        501,
        "Searching several resource types at once is not supported; use GET /Users or "
        "GET /Groups with a filter.",
    )


# -- discovery --------------------------------------------------------------------------


@router.get(
    "/ServiceProviderConfig",
    openapi_extra=operation("What this server supports", returns="ServiceProviderConfig"),
)
async def service_provider_config(request: Request) -> ScimResponse:
    return ScimResponse(discovery.service_provider_config(base_url(request)))


@router.get(
    "/ResourceTypes",
    openapi_extra=operation("The resource types", returns="ResourceTypeList"),
)
async def resource_types(request: Request) -> ScimResponse:
    types = discovery.resource_types(base_url(request))
    return ScimResponse(list_response(types, total=len(types), start_index=1))


@router.get(
    "/ResourceTypes/{name}",
    openapi_extra=operation("A resource type", returns="ResourceType", errors=(404,)),
)
async def resource_type(request: Request, name: str) -> ScimResponse:
    for resource in discovery.resource_types(base_url(request)):
        if resource["id"] == name:
            return ScimResponse(resource)
    raise not_found("ResourceType", name)


@router.get("/Schemas", openapi_extra=operation("The resource schemas", returns="SchemaList"))
async def schemas(request: Request) -> ScimResponse:
    resources = discovery.schema_resources(base_url(request))
    return ScimResponse(list_response(resources, total=len(resources), start_index=1))


@router.get(
    "/Schemas/{schema_id}",
    openapi_extra=operation("A resource schema", returns="Schema", errors=(404,)),
)
async def schema(request: Request, schema_id: str) -> ScimResponse:
    for resource in discovery.schema_resources(base_url(request)):
        if resource["id"] == schema_id:
            return ScimResponse(resource)
    raise not_found("Schema", schema_id)


@router.get(
    "/openapi.json",
    openapi_extra=operation("This document (OpenAPI 3.1)", returns="OpenApiDocument"),
)
async def openapi_document(request: Request) -> ScimResponse:
    app = request.app
    if app.state.openapi is None:
        app.state.openapi = scim_openapi.build(app, public_url=base_url(request))
    return ScimResponse(app.state.openapi, media_type="application/json")


# -- the app ----------------------------------------------------------------------------


async def _on_scim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    return scim_error_response(exc.status, exc.detail, scim_type=exc.scim_type)


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return scim_error_response(exc.status, exc.detail, headers=exc.headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return scim_error_response(400, "The body is not valid JSON.", scim_type="invalidSyntax")
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in errors
    )
    return scim_error_response(400, f"Invalid request: {problems}.", scim_type="invalidValue")


def _allowed_methods(request: Request) -> list[str]:
    return [
        method
        for method in ("DELETE", "GET", "PATCH", "POST", "PUT")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, DomainError):  # e.g. the body size limit, while reading
        return await _on_domain_error(request, exc.__cause__)
    if exc.status_code == 404:
        return scim_error_response(404, f"No SCIM resource at {request.url.path}.")
    if exc.status_code == 405:
        allowed = ", ".join(_allowed_methods(request))
        return scim_error_response(
            405,
            f"Method {request.method} is not allowed on {request.url.path}; allowed: {allowed}.",
            headers={"Allow": allowed},
        )
    return scim_error_response(exc.status_code, str(exc.detail))


class ScimAccess:
    """Only an API client with the ``scim`` scope gets past this, before any routing, so
    an unauthenticated caller learns nothing about what exists."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            caller = scope.get("state", {}).get("caller")
            refusal = _refusal(caller)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(caller: Caller | None) -> Response | None:
    if not isinstance(caller, Caller):
        return scim_error_response(
            401,
            "Send an API client secret with the scim scope as a bearer token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if caller.kind is not PrincipalKind.API_CLIENT or ApiScope.SCIM not in caller.scopes:
        return scim_error_response(403, "SCIM needs an API client with the scim scope.")
    return None


def scim_error_for(error: DomainError, scope: Scope) -> Response:
    """How the gateway's authentication renders a refused token under ``/scim/v2``."""
    return scim_error_response(error.status, error.detail, headers=error.headers)


def create_scim_app(*, public_url: str) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.router.redirect_slashes = False
    app.state.base_url = public_url.rstrip("/") + PREFIX
    app.state.openapi = None  # built on first request (GET /openapi.json)
    app.add_exception_handler(ScimError, _on_scim_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.include_router(router)
    return app


__all__ = ["PREFIX", "ScimAccess", "create_scim_app", "scim_error_for"]
