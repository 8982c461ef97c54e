"""The incidents database's own metadata, kept apart from every other service's."""

from sqlmodel import SQLModel

from kit.audit import AuditTrail
from kit.db import new_registry
from kit.idempotency import define_table
from kit.jobs import define_schedule_table
from kit.outbox import Outbox
from kit.reminders import define_notice_table


class Base(SQLModel, registry=new_registry()):
    pass


idempotency_keys = define_table(Base.metadata)
# The events this service emits, written with the change that caused them (kit.outbox).
outbox = Outbox(Base.metadata, source="incidents")
# Periodic jobs (reminders), leased so one replica runs each round.
scheduled_runs = define_schedule_table(Base.metadata)
# The reminders and missed deadlines already told, once each (kit.reminders).
notices_sent = define_notice_table(Base.metadata)
# Who read or changed what (kit.audit): append-only, each entry chained to the one before.
audit_trail = AuditTrail(Base.metadata, app="incidents")
