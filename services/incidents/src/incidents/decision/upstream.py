"""What incidents asks of other services, through the gateway as ``service:incidents``:
the directory (people, their managers, who holds a role, a group's members) and coaching
(history, remedial engagements)."""

from __future__ import annotations

import collections
import time
import uuid
import weakref
from collections.abc import Callable, Collection
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


class DirectoryCache:
    """The directory's answers about people, role holders and group members, kept a few
    seconds: a busy minute's decisions ask the same holders of ``hr`` again and again, and
    each question costs a hop through the gateway. A change in the directory reaches the
    decisions within ``seconds``. Only answers are kept (not "no such person", not errors)."""

    def __init__(self, seconds: float, *, max_entries: int = 4096) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, key: tuple[str, str]) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: tuple[str, str], value: Any) -> None:
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (time.monotonic() + self.seconds, value)


class DecisionRecords:
    """The person's record each decision in this process went by, kept for the remedial job
    that follows it (issue 16): coaching and training are told the record the decision
    used, however long the decision took under load, without reading it again. A job that
    finds none (another replica decided, or too long ago) looks the person up itself.

    At most ``seconds`` old: a person who left in the meantime keeps the remedial modules
    assigned in that window until training's reconciliation closes them as a leaver's."""

    def __init__(
        self,
        seconds: float = 30.0,
        *,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        # In the order they were put, so the oldest go first.
        self._entries: collections.OrderedDict[uuid.UUID, tuple[float, DirectoryPerson]] = (
            collections.OrderedDict()
        )

    def put(self, incident_id: uuid.UUID, person: DirectoryPerson) -> None:
        now = self.clock()
        while self._entries and (
            len(self._entries) >= self.max_entries or next(iter(self._entries.values()))[0] <= now
        ):
            self._entries.popitem(last=False)
        self._entries[incident_id] = (now + self.seconds, person)

    def take(self, incident_id: uuid.UUID) -> DirectoryPerson | None:
        """The record the incident's decision went by, once; ``None`` if not kept."""
        entry = self._entries.pop(incident_id, None)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]


# The cache of each gateway client (one per app), when the app keeps one.
_caches: weakref.WeakKeyDictionary[httpx.AsyncClient, DirectoryCache] = weakref.WeakKeyDictionary()


def cache_directory(gateway: httpx.AsyncClient, *, seconds: float) -> None:
    """Keep the directory's answers ``seconds`` for calls through ``gateway`` (0: never)."""
    if seconds > 0:
        _caches[gateway] = DirectoryCache(seconds)
    else:
        _caches.pop(gateway, None)


class UpstreamUnavailable(Exception):
    """The other service could not answer now (down, timing out, or failing); try later."""


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    id: uuid.UUID
    display_name: str
    manager_id: uuid.UUID | None
    active: bool
    department: str | None = None
    # The manager as the directory answered with the person (``GET people/{id}``): who to
    # contact is known without a second call through the gateway.
    manager: DirectoryPerson | None = None


def directory_record(person: DirectoryPerson | None) -> dict[str, Any] | None:
    """What coaching and training need of the person's directory record, passed on with
    the remedial requests (``directory_record``) so that neither asks the directory again
    (issue 16). They take it from ``service:incidents`` only: it is our word."""
    if person is None:
        return None
    return {"active": person.active, "department": person.department}


@dataclass(frozen=True, slots=True)
class CoachingHistory:
    window_days: int
    remedial_completed_in_window: int
    remedial_active: int


async def find_person(gateway: httpx.AsyncClient, person_id: uuid.UUID) -> DirectoryPerson | None:
    """The person in the directory, or ``None`` if the directory has no such person."""
    cache = _caches.get(gateway)
    key = ("person", str(person_id))
    if cache is not None and (known := cache.get(key)) is not None:
        found: DirectoryPerson = known
        return found
    response = await _call(gateway, "GET", f"{PEOPLE}/{person_id}")
    if response.status_code == 404:
        return None
    person = _person_of(_json_of(response, expected=(200,)))
    if cache is not None:
        cache.put(key, person)
    return person


async def people_with_role(gateway: httpx.AsyncClient, role: str) -> list[DirectoryPerson]:
    """The active people holding ``role`` now (the directory maps groups to roles)."""
    return await _cached_people(gateway, "role", role)


async def group_members(gateway: httpx.AsyncClient, group: str) -> list[DirectoryPerson]:
    """The active members of the directory group named ``group`` (none if it is unknown)."""
    return await _cached_people(gateway, "group", group)


async def _cached_people(gateway: httpx.AsyncClient, kind: str, name: str) -> list[DirectoryPerson]:
    cache = _caches.get(gateway)
    if cache is not None and (known := cache.get((kind, name))) is not None:
        return list(known)
    people = await _active_people(gateway, {kind: name})
    if cache is not None:
        cache.put((kind, name), tuple(people))
    return people


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
    gateway: httpx.AsyncClient,
    *,
    incident_id: uuid.UUID,
    coachee_id: uuid.UUID,
    goals: str,
    person: DirectoryPerson | None = None,
) -> uuid.UUID:
    """Ask coaching for the remedial engagement of this incident. Coaching keeps at most
    one per incident (a unique index), so a retry after a lost answer gets the same
    engagement back (200). No ``Idempotency-Key``: the incident id already is one, and a
    key would cost coaching a claim and a seal on every call (issue 16). ``person``, the
    coachee as the directory answered us just now, spares coaching asking it again."""
    body: dict[str, Any] = {
        "coachee_id": str(coachee_id),
        "track": "remedial",
        "source": "incident",
        "incident_id": str(incident_id),
        "goals": goals,
    }
    if (record := directory_record(person)) is not None:
        body["directory_record"] = record
    response = await _call(gateway, "POST", "/api/v1/coaching/engagements", json=body)
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
    # The remedial engagement, when it was asked for with the measures.
    engagement_id: uuid.UUID | None = None


async def tell_coaching(
    gateway: httpx.AsyncClient,
    *,
    incident_id: uuid.UUID,
    person_id: uuid.UUID,
    suspends_ambassador: bool,
    status: str,
    reason: str | None,
    remedial_goals: str | None = None,
    person: DirectoryPerson | None = None,
) -> CoachingMeasures:
    """The incident's measures as they are now (an idempotent PUT: a retry is harmless):
    ``status`` is ``open``, ``closed`` or ``withdrawn`` (dismissed, or no violation).
    With ``remedial_goals`` (an open incident) coaching also opens the remedial engagement,
    in the same transaction: one call instead of two (issue 16); ``person``, the coachee
    as the directory answered us just now, spares coaching asking it again."""
    body: dict[str, Any] = {
        "person_id": str(person_id),
        "suspends_ambassador": suspends_ambassador,
        "status": status,
        "reason": reason,
    }
    if remedial_goals is not None:
        body["remedial"] = {"goals": remedial_goals}
        if (record := directory_record(person)) is not None:
            body["directory_record"] = record
    response = await _call(
        gateway, "PUT", f"/api/v1/coaching/incidents/{incident_id}/measures", json=body
    )
    answer = _json_of(response, expected=(200,))
    try:
        engagement_id = answer.get("engagement_id")
        if remedial_goals is not None and not engagement_id:
            raise KeyError("engagement_id")
        return CoachingMeasures(
            ambassador_suspended=bool(answer["ambassador_suspended"]),
            suspension_lifted=bool(answer["suspension_lifted"]),
            engagement_cancelled=bool(answer["engagement_cancelled"]),
            engagement_id=uuid.UUID(str(engagement_id)) if engagement_id else None,
        )
    except (KeyError, ValueError) as exc:
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
            department=str(department) if (department := body.get("department")) else None,
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
