"""What coaching asks of other services, always through the gateway as ``service:coaching``.

Every failure to get an answer (connection refused, timeout, a 5xx from the gateway or the
service, an unexpected body) becomes :class:`UpstreamUnavailable`, a 503: coaching never
answers as if the other service had said "nothing".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from coaching.errors import UpstreamUnavailable
from coaching.schemas import RemedialModule
from kit.clients import raise_for_caller_input

RETRY_AFTER_SECONDS = "5"
# The directory's bulk lookup takes this many ids per request.
DIRECTORY_BATCH = 100

M = TypeVar("M", bound=BaseModel)


class DirectoryPerson(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    display_name: str
    active: bool
    department: str | None = None
    manager_id: uuid.UUID | None = None


class TrainingProgress(BaseModel):
    model_config = ConfigDict(extra="ignore")

    core_training_completed: bool


class TrainingSignal(BaseModel):
    model_config = ConfigDict(extra="ignore")

    person_id: uuid.UUID
    reason: str
    module_id: uuid.UUID | None = None
    detail: str | None = None
    since: dt.datetime


class _RemedialPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[RemedialModule]
    next_cursor: str | None


class SignalPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[TrainingSignal]
    next_cursor: str | None


def _unavailable(service: str, why: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The {service} service could not answer ({why}), so coaching cannot give a reliable "
        "answer. Try again shortly.",
        extensions={"unavailable_source": service},
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _get(
    gateway: httpx.AsyncClient, service: str, path: str, params: Any = None
) -> httpx.Response:
    try:
        response = await gateway.get(path, params=params)
    except httpx.TimeoutException as exc:
        raise _unavailable(service, "timed out") from exc
    except httpx.TransportError as exc:
        raise _unavailable(service, "unreachable") from exc
    if response.status_code >= 500:
        raise _unavailable(service, f"status {response.status_code}")
    return response


def _parse(model: type[M], service: str, response: httpx.Response) -> M:
    if response.status_code != 200:
        raise _unavailable(service, f"status {response.status_code}")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise _unavailable(service, "unexpected response") from exc


async def person(gateway: httpx.AsyncClient, person_id: uuid.UUID) -> DirectoryPerson | None:
    """One person of the directory, or ``None`` if the directory does not know them."""
    response = await _get(gateway, "directory", f"/api/v1/directory/people/{person_id}")
    if response.status_code == 404:
        return None
    return _parse(DirectoryPerson, "directory", response)


class _PeoplePage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[DirectoryPerson]
    next_cursor: str | None


async def people(
    gateway: httpx.AsyncClient, person_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, DirectoryPerson]:
    """Many people at once (the directory's repeatable ``id`` filter), batched."""
    wanted = sorted(set(person_ids))
    found: dict[uuid.UUID, DirectoryPerson] = {}
    for start in range(0, len(wanted), DIRECTORY_BATCH):
        batch = wanted[start : start + DIRECTORY_BATCH]
        params = [("id", str(person_id)) for person_id in batch] + [("limit", str(len(batch)))]
        response = await _get(gateway, "directory", "/api/v1/directory/people", params)
        page = _parse(_PeoplePage, "directory", response)
        found.update((p.id, p) for p in page.items)
    return found


async def department_members(gateway: httpx.AsyncClient, department: str) -> set[uuid.UUID]:
    """Everyone in ``department`` (all pages)."""
    members: set[uuid.UUID] = set()
    cursor: str | None = None
    while True:
        params = {"department": department, "limit": "200"}
        if cursor:
            params["cursor"] = cursor
        response = await _get(gateway, "directory", "/api/v1/directory/people", params)
        page = _parse(_PeoplePage, "directory", response)
        members.update(p.id for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return members


async def core_training_completed(gateway: httpx.AsyncClient, person_id: uuid.UUID) -> bool:
    """Has the person passed the social media training? Asked of training."""
    response = await _get(gateway, "training", f"/api/v1/training/people/{person_id}/progress")
    return _parse(TrainingProgress, "training", response).core_training_completed


async def training_signals(
    gateway: httpx.AsyncClient,
    *,
    reason: str | None,
    department: str | None,
    limit: int,
    cursor: str | None,
) -> SignalPage:
    """One page of training's signals (all reasons unless ``reason``), oldest first."""
    params = {"limit": str(limit)}
    for name, value in (("reason", reason), ("department", department), ("cursor", cursor)):
        if value is not None:
            params[name] = value
    response = await _get(gateway, "training", "/api/v1/training/signals", params)
    # The cursor inside ours is the caller's: training's 400 about it is theirs to fix.
    raise_for_caller_input(response)
    return _parse(SignalPage, "training", response)


async def remedial_training(
    gateway: httpx.AsyncClient, person_id: uuid.UUID
) -> list[RemedialModule]:
    """Every remedial module training assigned the person after an incident."""
    modules: list[RemedialModule] = []
    cursor: str | None = None
    while True:
        params = {"person_id": str(person_id), "limit": "200"}
        if cursor is not None:
            params["cursor"] = cursor
        response = await _get(gateway, "training", "/api/v1/training/remedial-training", params)
        page = _parse(_RemedialPage, "training", response)
        modules += page.items
        cursor = page.next_cursor
        if cursor is None:
            return modules


class _LegalHolds(BaseModel):
    model_config = ConfigDict(extra="ignore")

    incident_ids: list[uuid.UUID]


async def legal_holds(gateway: httpx.AsyncClient) -> set[uuid.UUID]:
    """The incidents under legal hold now, asked of incidents."""
    response = await _get(gateway, "incidents", "/api/v1/incidents/legal-holds")
    return set(_parse(_LegalHolds, "incidents", response).incident_ids)
