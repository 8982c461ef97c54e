"""Dependencies the gateway's own routes share."""

from kit.db import SessionDep
from kit.identity import CallerDep, UserDep

__all__ = ["CallerDep", "SessionDep", "UserDep"]
