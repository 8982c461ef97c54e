"""The training database's own metadata, kept apart from every other service's."""

from sqlmodel import SQLModel

from kit.db import new_registry
from kit.idempotency import define_table


class Base(SQLModel, registry=new_registry()):
    pass


idempotency_keys = define_table(Base.metadata)
