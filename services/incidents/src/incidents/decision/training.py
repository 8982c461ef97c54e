"""Remedial training: what incidents asks of training, through the gateway as
``service:incidents``.

When a decision includes coaching, training assigns the person the modules that teach the
clauses the incident breached. Training keeps one batch per incident, so asking again
(a retry of the remedial job) changes nothing there. A refusal (4xx: say, the person has
left) is recorded on the timeline and not retried; an outage is retried with the job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from incidents.decision.upstream import DirectoryPerson, UpstreamUnavailable, directory_record
from incidents.incident import timeline
from incidents.incident.models import Incident, TimelineKind
from kit.db import utcnow

REMEDIAL = "/api/v1/training/remedial-training"


async def assign_remedial_training(
    gateway: httpx.AsyncClient, *, incident: Incident, person: DirectoryPerson | None = None
) -> dict[str, Any] | None:
    """Training's answer (the modules assigned, the clauses no module teaches), or
    ``None`` when there is nothing to ask (no clauses named). ``person``: the person as the
    directory answered us just now, which spares training asking it again."""
    if not incident.clauses:
        return None
    body: dict[str, Any] = {
        "incident_id": str(incident.id),
        "person_id": str(incident.person_id),
        "clause_numbers": incident.clauses,
    }
    if (record := directory_record(person)) is not None:
        body["directory_record"] = record
    # The decision's deadline is the rule's: the training is due by then when it is ahead.
    if incident.deadline_at is not None and incident.deadline_at > utcnow() + dt.timedelta(days=1):
        body["due_at"] = incident.deadline_at.isoformat()
    try:
        response = await gateway.post(REMEDIAL, json=body)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"POST {REMEDIAL}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code in (401, 403, 404, 408, 429):
        raise UpstreamUnavailable(f"POST {REMEDIAL} answered {response.status_code}")
    try:
        answer: dict[str, Any] = response.json()
    except ValueError as exc:
        raise UpstreamUnavailable(f"{REMEDIAL} answered non-JSON") from exc
    if response.is_success:
        return answer
    return {"refused": str(answer.get("detail") or response.status_code)}


def entry(incident_id: uuid.UUID, *, answer: dict[str, Any]) -> dict[str, Any]:
    """What training did, as the incident's timeline entry (``timeline.write`` takes it)."""
    if "refused" in answer:
        summary = f"Training could not assign remedial modules: {answer['refused']}"
        data: dict[str, Any] = {"refused": answer["refused"]}
    else:
        items = answer.get("items") or []
        titles = ", ".join(f"'{item.get('module_title')}'" for item in items)
        summary = (
            f"Training assigned remedial modules: {titles}."
            if items
            else "No published training module teaches the clauses breached."
        )
        if answer.get("uncovered_clauses"):
            summary += f" No module teaches {', '.join(answer['uncovered_clauses'])}."
        data = {
            "module_ids": [item.get("module_id") for item in items],
            "uncovered_clauses": answer.get("uncovered_clauses") or [],
        }
    return timeline.row(
        incident_id=incident_id, kind=TimelineKind.REMEDIAL_TRAINING, summary=summary, data=data
    )


async def remedial_training(gateway: httpx.AsyncClient, *, incident_id: uuid.UUID) -> list[Any]:
    """The incident's remedial modules with their status now, as training reports them."""
    try:
        response = await gateway.get(
            REMEDIAL, params={"incident_id": str(incident_id), "limit": 200}
        )
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"GET {REMEDIAL}: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        raise UpstreamUnavailable(f"GET {REMEDIAL} answered {response.status_code}")
    items: list[Any] = response.json().get("items", [])
    return items
