"""The gateway database's own metadata, kept apart from every service's."""

from sqlmodel import SQLModel

from kit.audit import AuditTrail
from kit.db import new_registry
from kit.idempotency import define_table


class Base(SQLModel, registry=new_registry()):
    pass


idempotency_keys = define_table(Base.metadata)
# Who read or changed what (kit.audit): append-only, each entry chained to the one before.
audit_trail = AuditTrail(Base.metadata, app="gateway")
