"""A tiny service built only from the kit, so the kit's behaviour is tested on its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel, select

from kit.concurrency import ETagged, IfMatch, Versioned, check_if_match, set_etag
from kit.db import SessionDep, UtcDateTime, new_registry, utcnow
from kit.errors import Conflict, NotFound
from kit.fields import Text
from kit.idempotency import define_table
from kit.identity import Caller, CallerDep, Role, require_roles
from kit.pagination import Page, PageParamsDep, paginate
from kit.runtime import create_service_app, database_runtime
from kit.settings import AppSettings


class NotesBase(SQLModel, registry=new_registry()):
    pass


idempotency_keys = define_table(NotesBase.metadata)


class Note(Versioned, NotesBase, table=True):
    __tablename__ = "notes"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    title: str = SQLField(max_length=100)
    created_at: dt.datetime = SQLField(default_factory=utcnow, sa_type=UtcDateTime)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=100)
    pages: int = Field(default=1, ge=1)


class NoteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=100)


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    version: int
    created_at: dt.datetime


class NotesSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="NOTES_")

    port: int = 0


router = APIRouter(prefix="/api/v1/notes")


async def _get(session: AsyncSession, note_id: uuid.UUID) -> Note:
    note = await session.get(Note, note_id)
    if note is None:
        raise NotFound(f"No note {note_id}.")
    return note


@router.post("", status_code=status.HTTP_201_CREATED, response_model=NoteRead)
async def create_note(
    request: Request, session: SessionDep, caller: CallerDep, data: NoteCreate
) -> NoteRead:
    """Create a note; when a test sets ``app.state.gate``, signals ``app.state.entered``
    and waits for the gate."""
    gate: asyncio.Event | None = getattr(request.app.state, "gate", None)
    if gate is not None:
        request.app.state.entered.set()
        await gate.wait()
    note = Note(title=data.title)
    session.add(note)
    await session.flush()
    return NoteRead.model_validate(note)


@router.post("/fail-after-write", status_code=status.HTTP_201_CREATED)
async def fail_after_write(session: SessionDep, caller: CallerDep, data: NoteCreate) -> None:
    """Writes, then fails: the write must not survive."""
    session.add(Note(title=data.title))
    await session.flush()
    raise Conflict("Failed after writing.")


@router.get("", response_model=Page[NoteRead])
async def list_notes(session: SessionDep, caller: CallerDep, page: PageParamsDep) -> Page[NoteRead]:
    """Notes, oldest first."""
    rows, next_cursor = await paginate(
        session,
        select(Note),
        order_by=[Note.created_at, Note.id],
        params=page,
    )
    return Page(items=[NoteRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/boom")
async def boom(caller: CallerDep) -> None:
    """Fails unexpectedly."""
    raise RuntimeError("secret internal detail")


@router.get("/admin-only")
async def admin_only(
    caller: Annotated[Caller, Depends(require_roles(Role.ADMIN))],
) -> dict[str, str]:
    """Only admins."""
    return {"subject": caller.subject}


@router.get("/{note_id}", response_model=NoteRead)
async def get_note(
    note_id: uuid.UUID, session: SessionDep, caller: CallerDep, response: ETagged
) -> NoteRead:
    """One note with its ETag."""
    note = await _get(session, note_id)
    set_etag(response, note.version)
    return NoteRead.model_validate(note)


@router.patch("/{note_id}", response_model=NoteRead)
async def update_note(
    note_id: uuid.UUID,
    data: NoteUpdate,
    session: SessionDep,
    caller: CallerDep,
    response: ETagged,
    if_match: IfMatch,
) -> NoteRead:
    """Rename a note; needs If-Match."""
    note = await _get(session, note_id)
    check_if_match(if_match, current_version=note.version)
    note.title = data.title
    await session.flush()
    set_etag(response, note.version)
    return NoteRead.model_validate(note)


def create_app(settings: NotesSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with database_runtime(
            app, settings, alembic_ini=None, idempotency_table=idempotency_keys
        ):
            yield

    app = create_service_app(
        name="notes",
        title="Notes",
        description="Kit test app.",
        settings=settings,
        lifespan=lifespan,
    )
    app.include_router(router)
    return app
