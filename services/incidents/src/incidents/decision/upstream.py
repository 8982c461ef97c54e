"""What incidents asks of other services, through the gateway as ``service:incidents``:
the directory (people, their managers, who holds a role, a group's members) and coaching
(history, remedial engagements)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from kit.clients import budget

PEOPLE = "/api/v1/directory/people"
# The directory's largest page: a role or group is read in as few calls as possible.
DIRECTORY_PAGE = 200
LOOKUP = "/api/v1/directory/lookup"
# The most ids the directory's lookup takes in one call.
LOOKUP_MAX_IDS = 10_000


class UpstreamUnavailable(Exception):
    """The other service could not answer now (down, timing out, or failing); try later."""


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    id: uuid.UUID
    display_name: str
    manager_id: uuid.UUID | None
    active: bool
    # The manager as the directory answered with the person (``GET people/{id}``): who to
    # contact is known without a second call through the gateway.
    manager: DirectoryPerson | None = None


@dataclass(frozen=True, slots=True)
class CoachingHistory:
    window_days: int
    remedial_completed_in_window: int
    remedial_active: int


async def find_person(gateway: httpx.AsyncClient, person_id: uuid.UUID) -> DirectoryPerson | None:
    """The person in the directory, or ``None`` if the directory has no such person."""
    response = await _call(gateway, "GET", f"{PEOPLE}/{person_id}")
    if response.status_code == 404:
        return None
    return _person_of(_json_of(response, expected=(200,)))


async def people_with_role(gateway: httpx.AsyncClient, role: str) -> list[DirectoryPerson]:
    """The active people holding ``role`` now (the directory maps groups to roles)."""
    return await _active_people(gateway, {"role": role})


async def group_members(gateway: httpx.AsyncClient, group: str) -> list[DirectoryPerson]:
    """The active members of the directory group named ``group`` (none if it is unknown)."""
    return await _active_people(gateway, {"group": group})


async def departments_of(
    gateway: httpx.AsyncClient, person_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """Each person's department now, asked of the directory's bulk lookup (up to
    ``LOOKUP_MAX_IDS`` people per call: a replay names thousands, and each call through the
    gateway costs more than a thousand more ids); people the directory does not know are
    left out."""
    ordered = sorted(person_ids)
    departments: dict[uuid.UUID, str | None] = {}
    for start in range(0, len(ordered), LOOKUP_MAX_IDS):
        chunk = ordered[start : start + LOOKUP_MAX_IDS]
        body = _json_of(
            await _call(gateway, "POST", LOOKUP, json={"ids": [str(person) for person in chunk]}),
            expected=(200,),
        )
        for item in _items_of(body):
            try:
                department = item.get("department")
                departments[uuid.UUID(str(item["id"]))] = str(department) if department else None
            except (AttributeError, KeyError, ValueError) as exc:
                raise UpstreamUnavailable(
                    f"the directory answered an unexpected person: {exc}"
                ) from exc
    return departments


async def _active_people(
    gateway: httpx.AsyncClient, filters: dict[str, str]
) -> list[DirectoryPerson]:
    """Every page of the directory's answer: contacting only part of a role would be
    silently wrong."""
    people: list[DirectoryPerson] = []
    params: dict[str, str | int] = {**filters, "active": "true", "limit": DIRECTORY_PAGE}
    while True:
        body = _json_of(await _call(gateway, "GET", PEOPLE, params=params), expected=(200,))
        people += [_person_of(item) for item in _items_of(body)]
        cursor = body.get("next_cursor")
        if not cursor:
            return people
        params["cursor"] = str(cursor)


async def coaching_history(
    gateway: httpx.AsyncClient,
    person_id: uuid.UUID,
    *,
    windows: Collection[int],
    timeout_seconds: float,
) -> list[CoachingHistory]:
    """Coaching's counts of the person's remedial coaching for each window, in one call
    (``/remedial-counts``: the counts only, not the engagements)."""
    response = await _call(
        gateway,
        "GET",
        f"/api/v1/coaching/people/{person_id}/remedial-counts",
        params=[("window_days", window) for window in windows],
        **budget(timeout_seconds),
    )
    body = _json_of(response, expected=(200,))
    try:
        active = int(body["remedial_active"])
        counted = {
            int(item["window_days"]): int(item["remedial_completed"]) for item in body["windows"]
        }
        return [
            CoachingHistory(
                window_days=window,
                remedial_completed_in_window=counted[window],
                remedial_active=active,
            )
            for window in windows
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamUnavailable(f"coaching history has an unexpected shape: {exc}") from exc


async def open_remedial_engagement(
    gateway: httpx.AsyncClient, *, incident_id: uuid.UUID, coachee_id: uuid.UUID, goals: str
) -> uuid.UUID:
    """Ask coaching for the remedial engagement of this incident. Coaching keeps at most
    one per incident and the incident id is the idempotency key, so a retry after a lost
    answer gets the same engagement back."""
    response = await _call(
        gateway,
        "POST",
        "/api/v1/coaching/engagements",
        json={
            "coachee_id": str(coachee_id),
            "track": "remedial",
            "source": "incident",
            "incident_id": str(incident_id),
            "goals": goals,
        },
        headers={"Idempotency-Key": str(incident_id)},
    )
    body = _json_of(response, expected=(200, 201))
    try:
        return uuid.UUID(str(body["id"]))
    except (KeyError, ValueError) as exc:
        raise UpstreamUnavailable(f"coaching answered without an engagement id: {exc}") from exc


@dataclass(frozen=True, slots=True)
class CoachingMeasures:
    """What coaching made of an incident's measures."""

    ambassador_suspended: bool
    suspension_lifted: bool
    engagement_cancelled: bool


async def tell_coaching(
    gateway: httpx.AsyncClient,
    *,
    incident_id: uuid.UUID,
    person_id: uuid.UUID,
    suspends_ambassador: bool,
    status: str,
    reason: str | None,
) -> CoachingMeasures:
    """The incident's measures as they are now (an idempotent PUT: a retry is harmless):
    ``status`` is ``open``, ``closed`` or ``withdrawn`` (dismissed, or no violation)."""
    response = await _call(
        gateway,
        "PUT",
        f"/api/v1/coaching/incidents/{incident_id}/measures",
        json={
            "person_id": str(person_id),
            "suspends_ambassador": suspends_ambassador,
            "status": status,
            "reason": reason,
        },
    )
    body = _json_of(response, expected=(200,))
    try:
        return CoachingMeasures(
            ambassador_suspended=bool(body["ambassador_suspended"]),
            suspension_lifted=bool(body["suspension_lifted"]),
            engagement_cancelled=bool(body["engagement_cancelled"]),
        )
    except KeyError as exc:
        raise UpstreamUnavailable(f"coaching answered measures without {exc}") from exc


async def _call(gateway: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await gateway.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc


def _person_of(body: Any) -> DirectoryPerson:
    try:
        manager_id = body.get("manager_id")
        manager = body.get("manager")
        return DirectoryPerson(
            id=uuid.UUID(str(body["id"])),
            display_name=str(body.get("display_name") or body.get("user_name") or body["id"]),
            manager_id=uuid.UUID(str(manager_id)) if manager_id else None,
            active=bool(body.get("active", True)),
            manager=_person_of(manager) if manager else None,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UpstreamUnavailable(f"the directory answered an unexpected person: {exc}") from exc


def _items_of(body: dict[str, Any]) -> list[Any]:
    items = body.get("items")
    if not isinstance(items, list):
        raise UpstreamUnavailable("the directory answered a page without items")
    return items


def _json_of(response: httpx.Response, *, expected: tuple[int, ...]) -> dict[str, Any]:
    if response.status_code not in expected:
        detail = response.text[:200]
        raise UpstreamUnavailable(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {detail}"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise UpstreamUnavailable(f"{response.request.url.path} answered non-JSON") from exc
    if not isinstance(body, dict):
        raise UpstreamUnavailable(f"{response.request.url.path} answered a non-object")
    return body
