"""Gateway domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import NotFound, Unauthorized


class PersonNotFound(NotFound):
    slug = "person-not-found"
    title = "Person not found"


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid token"


class AccountDeactivated(Unauthorized):
    slug = "account-deactivated"
    title = "Account deactivated"
