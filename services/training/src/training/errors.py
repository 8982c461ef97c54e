"""Training's domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import NotFound


class NoPublishedPolicy(NotFound):
    slug = "no-published-policy"
    title = "No published policy"
