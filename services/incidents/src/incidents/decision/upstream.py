"""What incidents asks of other services, through the gateway as ``service:incidents``:
the directory (people and their managers) and coaching (history, remedial engagements)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


class UpstreamUnavailable(Exception):
    """The other service could not answer now (down, timing out, or failing); try later."""


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    id: uuid.UUID
    display_name: str
    manager_id: uuid.UUID | None
    active: bool


@dataclass(frozen=True, slots=True)
class CoachingHistory:
    window_days: int
    remedial_completed_in_window: int
    remedial_active: int


async def find_person(gateway: httpx.AsyncClient, person_id: uuid.UUID) -> DirectoryPerson | None:
    """The person in the directory, or ``None`` if the directory has no such person."""
    response = await _call(gateway, "GET", f"/api/v1/directory/people/{person_id}")
    if response.status_code == 404:
        return None
    body = _json_of(response, expected=(200,))
    manager_id = body.get("manager_id")
    return DirectoryPerson(
        id=uuid.UUID(body["id"]),
        display_name=str(body.get("display_name") or body.get("user_name") or body["id"]),
        manager_id=uuid.UUID(manager_id) if manager_id else None,
        active=bool(body.get("active", True)),
    )


async def coaching_history(
    gateway: httpx.AsyncClient, person_id: uuid.UUID, *, window_days: int
) -> CoachingHistory:
    response = await _call(
        gateway,
        "GET",
        f"/api/v1/coaching/people/{person_id}/history",
        params={"window_days": window_days},
    )
    body = _json_of(response, expected=(200,))
    try:
        return CoachingHistory(
            window_days=window_days,
            remedial_completed_in_window=int(body["remedial_completed_in_window"]),
            remedial_active=int(body.get("remedial_active", 0)),
        )
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


async def _call(gateway: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await gateway.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc


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
