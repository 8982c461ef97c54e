"""Dependencies the training routes share."""

from kit.db import SessionDep
from kit.identity import CallerDep

__all__ = ["CallerDep", "SessionDep"]
