"""The training database's own metadata, kept apart from every other service's."""

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
outbox = Outbox(Base.metadata, source="training")
# Periodic jobs (reminders), leased so one replica runs each round.
scheduled_runs = define_schedule_table(Base.metadata)
# The reminders and overdue notices already given, once each (kit.reminders).
notices_sent = define_notice_table(Base.metadata)
# What the retention job removed, as counts (kit.audit): append-only, hash-chained.
audit_trail = AuditTrail(Base.metadata, app="training")
