"""The programme-effect report: does training and coaching prevent incidents?

Built from aggregates the services answer through the gateway (incidents: counts per
person and quarter, latest incident per person, the incidents that asked for coaching;
coaching: when each remedial engagement completed; the directory: who is active in which
department), and training's own assignments, as ``service:training``. No service's
database is read by another. Definitions (the README says the same):

* quarters are calendar quarters in UTC; the window is the last ``quarters`` of them,
  the current one included;
* people are those active in the directory now, in their current department;
* a person's training status in a quarter is taken at its first instant: ``overdue`` (an
  assignment then past due, not completed and not closed), else ``completed`` (a module
  completed by then), else ``assigned`` (assignments, none due yet), else
  ``not_assigned``;
* incidents are those not dismissed and not resolved as no violation; per 100 people =
  incidents in the quarter / people in the group x 100;
* repeat rate: of the incidents in the window whose decision asked for coaching, those
  followed by another incident of the same person after the remedial engagement was
  completed (``after_completed_coaching``), or after the incident when it was not
  (``without_completed_coaching``);
* time to remedial training: from the incident to the completion of the last of its
  remedial modules, for incidents whose modules are all completed.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from training.assignments.models import Assignment, ModuleProgress
from training.assignments.service import progress_join
from training.directory import Directory
from training.errors import ReportSourceUnavailable
from training.remedial.models import RemedialAssignment
from training.reports.schemas import (
    EffectGroup,
    EffectQuarter,
    EffectReport,
    RemedialTiming,
    RepeatRate,
    RepeatRates,
)

STATUSES = ("completed", "assigned", "overdue", "not_assigned")


@dataclass(frozen=True, slots=True)
class Quarter:
    year: int
    number: int

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 3 * self.number - 2, 1, tzinfo=dt.UTC)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )


def last_quarters(now: dt.datetime, count: int) -> list[Quarter]:
    current = Quarter(now.year, (now.month - 1) // 3 + 1)
    quarters = [current]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return list(reversed(quarters))


@dataclass(frozen=True, slots=True)
class _Held:
    created_at: dt.datetime
    due_at: dt.datetime
    closed_at: dt.datetime | None
    completed_at: dt.datetime | None


def status_at(held: Iterable[_Held], moment: dt.datetime) -> str:
    live = [
        h for h in held if h.created_at <= moment and (h.closed_at is None or h.closed_at > moment)
    ]
    done = [h for h in live if h.completed_at is not None and h.completed_at <= moment]
    if any(h.due_at < moment and h not in done for h in live):
        return "overdue"
    if done:
        return "completed"
    return "assigned" if live else "not_assigned"


async def _get(gateway: httpx.AsyncClient, path: str, params: dict[str, str]) -> Any:
    source = path.split("/")[3]
    try:
        response = await gateway.get(path, params=params)
    except httpx.HTTPError as exc:
        raise ReportSourceUnavailable(
            f"The {source} service cannot be reached for the report; try again shortly."
        ) from exc
    if response.status_code != 200:
        raise ReportSourceUnavailable(
            f"The {source} service answered {response.status_code} for the report; "
            "try again shortly."
        )
    return response.json()


async def effect_report(
    session: AsyncSession,
    *,
    gateway: httpx.AsyncClient,
    directory: Directory,
    quarters: int,
    now: dt.datetime,
) -> EffectReport:
    window = last_quarters(now, quarters)
    since = window[0].start
    params = {"since": since.isoformat()}
    # The three sources answer independently: ask them at once. When one fails, the others
    # finish before the request answers rather than run on behind it.
    incidents_read = asyncio.ensure_future(_get(gateway, "/api/v1/incidents/stats/effect", params))
    coaching_read = asyncio.ensure_future(
        _get(gateway, "/api/v1/coaching/stats/remedial-completions", params)
    )
    people_read = asyncio.ensure_future(directory.people(active=True))
    try:
        incidents, coaching, active = await asyncio.gather(
            incidents_read, coaching_read, people_read
        )
    except Exception:
        await asyncio.wait((incidents_read, coaching_read, people_read))
        raise
    people = {person.id: person for person in active}

    held: dict[uuid.UUID, list[_Held]] = defaultdict(list)
    # Five columns: more than SQLModel's typed select takes, so SQLAlchemy's.
    rows = await session.execute(
        core_select(
            col(Assignment.person_id),
            col(Assignment.created_at),
            col(Assignment.due_at),
            col(Assignment.closed_at),
            col(ModuleProgress.completed_at),
        ).outerjoin(ModuleProgress, progress_join())
    )
    for person_id, created_at, due_at, closed_at, completed_at in rows:
        held[person_id].append(_Held(created_at, due_at, closed_at, completed_at))

    counted: dict[tuple[uuid.UUID, str], int] = {}
    for person_id, year, number, incidents_count in incidents["counts"]:
        counted[(uuid.UUID(person_id), Quarter(year, number).label)] = incidents_count

    quarter_reads = []
    for quarter in window:
        by_status: Counter[str] = Counter()
        by_status_incidents: Counter[str] = Counter()
        by_department: Counter[str] = Counter()
        by_department_incidents: Counter[str] = Counter()
        for person_id, person in people.items():
            status = status_at(held.get(person_id, ()), quarter.start)
            department = person.department or ""
            n = counted.get((person_id, quarter.label), 0)
            by_status[status] += 1
            by_status_incidents[status] += n
            by_department[department] += 1
            by_department_incidents[department] += n
        quarter_reads.append(
            EffectQuarter(
                quarter=quarter.label,
                starts_at=quarter.start,
                by_training_status=[
                    _group(status, by_status[status], by_status_incidents[status])
                    for status in STATUSES
                ],
                by_department=[
                    _group(
                        department or None,
                        by_department[department],
                        by_department_incidents[department],
                    )
                    for department in sorted(by_department)
                ],
            )
        )
    return EffectReport(
        quarters=quarter_reads,
        repeat_incidents=_repeats(incidents, coaching),
        remedial_training=await _timing(session, incidents),
    )


def _group(name: str | None, people: int, incidents: int) -> EffectGroup:
    return EffectGroup(
        group=name,
        people=people,
        incidents=incidents,
        per_100_people=round(incidents * 100 / people, 2) if people else None,
    )


def _moment(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _repeats(incidents: dict[str, Any], coaching: dict[str, Any]) -> RepeatRates:
    last = {person_id: _moment(at) for person_id, at in incidents["last_incident_at"]}
    completed = {incident_id: _moment(at) for incident_id, at in coaching["completed"]}
    tallies = {True: [0, 0], False: [0, 0]}
    for item in incidents["remedial"]:
        done_at = completed.get(item["incident_id"])
        after = done_at if done_at is not None else _moment(item["occurred_at"])
        tally = tallies[done_at is not None]
        tally[0] += 1
        latest = last.get(item["person_id"])
        tally[1] += int(latest is not None and latest > after)
    return RepeatRates(
        after_completed_coaching=_rate(*tallies[True]),
        without_completed_coaching=_rate(*tallies[False]),
    )


def _rate(incidents: int, repeated: int) -> RepeatRate:
    return RepeatRate(
        incidents=incidents,
        repeated=repeated,
        rate=round(repeated / incidents, 4) if incidents else None,
    )


async def _timing(session: AsyncSession, incidents: dict[str, Any]) -> RemedialTiming:
    occurred = {
        uuid.UUID(item["incident_id"]): _moment(item["occurred_at"])
        for item in incidents["remedial"]
    }
    completions: dict[uuid.UUID, list[dt.datetime | None]] = defaultdict(list)
    if occurred:
        rows = await session.execute(
            select(RemedialAssignment.incident_id, ModuleProgress.completed_at)
            .join(Assignment, col(Assignment.id) == col(RemedialAssignment.assignment_id))
            .outerjoin(ModuleProgress, progress_join())
        )
        for incident_id, completed_at in rows:
            if incident_id in occurred:
                completions[incident_id].append(completed_at)
    days = [
        (max(c for c in times if c is not None) - occurred[incident_id]).total_seconds() / 86400
        for incident_id, times in completions.items()
        if times and all(c is not None for c in times)
    ]
    return RemedialTiming(
        incidents_with_remedial_training=len(completions),
        completed=len(days),
        median_days=round(statistics.median(days), 2) if days else None,
        mean_days=round(statistics.fmean(days), 2) if days else None,
    )


CSV_COLUMNS = ("section", "quarter", "group", "people", "incidents", "per_100_people", "rate")


def to_csv(report: EffectReport) -> str:
    """The same figures, one row each: rates per group and quarter, then the repeat rates
    and the time to remedial training."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for quarter in report.quarters:
        for section, groups in (
            ("training_status", quarter.by_training_status),
            ("department", quarter.by_department),
        ):
            for g in groups:
                writer.writerow(
                    (
                        section,
                        quarter.quarter,
                        g.group or "",
                        g.people,
                        g.incidents,
                        _num(g.per_100_people),
                        "",
                    )
                )
    for name, rate in (
        ("after_completed_coaching", report.repeat_incidents.after_completed_coaching),
        ("without_completed_coaching", report.repeat_incidents.without_completed_coaching),
    ):
        writer.writerow(("repeat_incidents", "", name, "", rate.incidents, "", _num(rate.rate)))
    timing = report.remedial_training
    writer.writerow(
        (
            "remedial_training_median_days",
            "",
            "",
            "",
            timing.completed,
            "",
            _num(timing.median_days),
        )
    )
    writer.writerow(
        ("remedial_training_mean_days", "", "", "", timing.completed, "", _num(timing.mean_days))
    )
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
