"""The people directory (departments, managers), asked through the gateway.

Training keeps no copy of the directory: who reports to whom and who is in which department
are read when needed, as ``service:training``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from kit.clients import raise_for_caller_input
from training.errors import DirectoryUnavailable

PEOPLE_PATH = "/api/v1/directory/people"
PAGE_SIZE = 200
# Bulk lookups send ids in the query string; keep each URL well under common limits.
IDS_PER_REQUEST = 50


class DirectoryPerson(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    display_name: str
    active: bool = True
    department: str | None = None
    manager_id: uuid.UUID | None = None
    deactivated_at: dt.datetime | None = None


class Directory:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def person(self, person_id: uuid.UUID) -> DirectoryPerson | None:
        """One person, or ``None`` if the directory does not know them."""
        response = await self._get(f"{PEOPLE_PATH}/{person_id}")
        if response.status_code == 404:
            return None
        self._raise_for_status(response)
        return DirectoryPerson.model_validate(response.json())

    async def is_manager_of(self, manager_id: uuid.UUID | None, person_id: uuid.UUID) -> bool:
        if manager_id is None:
            return False
        person = await self.person(person_id)
        return person is not None and person.manager_id == manager_id

    async def people(
        self,
        *,
        department: str | None = None,
        group: str | None = None,
        active: bool | None = True,
        ids: Iterable[uuid.UUID] | None = None,
    ) -> list[DirectoryPerson]:
        """Everyone matching the filters, all pages."""
        if ids is not None:
            wanted = sorted(set(ids))
            found: list[DirectoryPerson] = []
            for start in range(0, len(wanted), IDS_PER_REQUEST):
                chunk = wanted[start : start + IDS_PER_REQUEST]
                found += await self._all_pages({"id": [str(i) for i in chunk], "active": active})
            return found
        return await self._all_pages({"department": department, "group": group, "active": active})

    async def people_page(
        self,
        *,
        department: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[DirectoryPerson], str | None]:
        """One page of active people, in the directory's order."""
        params = {"department": department, "active": True, "limit": limit, "cursor": cursor}
        response = await self._get(PEOPLE_PATH, params=_query(params))
        # The cursor is our caller's: the directory's 400 about it is theirs to fix.
        raise_for_caller_input(response)
        self._raise_for_status(response)
        body = response.json()
        items = [DirectoryPerson.model_validate(item) for item in body["items"]]
        return items, body.get("next_cursor")

    async def _all_pages(self, params: dict[str, Any]) -> list[DirectoryPerson]:
        people: list[DirectoryPerson] = []
        cursor: str | None = None
        while True:
            query = _query({**params, "limit": PAGE_SIZE, "cursor": cursor})
            response = await self._get(PEOPLE_PATH, params=query)
            self._raise_for_status(response)
            body = response.json()
            people += [DirectoryPerson.model_validate(item) for item in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                return people

    async def _get(self, path: str, *, params: Any = None) -> httpx.Response:
        try:
            return await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(
                "The people directory cannot be reached right now; try again shortly."
            ) from exc

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        if response.is_success:
            return
        raise DirectoryUnavailable(
            f"The people directory answered {response.status_code}; try again shortly."
        )


def _query(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query pairs without empty values; lists become repeated parameters."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs
