"""Coaching's domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import Conflict


class AlreadyACoach(Conflict):
    slug = "already-a-coach"
    title = "Already a coach"
