"""Gateway domain errors (the tree itself is documented in ``kit.errors``)."""

from kit.errors import Forbidden, NotFound, Unauthorized


class PersonNotFound(NotFound):
    slug = "person-not-found"
    title = "Person not found"


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid token"


class AccountDeactivated(Unauthorized):
    slug = "account-deactivated"
    title = "Account deactivated"


class ApiClientNotFound(NotFound):
    slug = "api-client-not-found"
    title = "API client not found"


class InsufficientScope(Forbidden):
    slug = "insufficient-scope"
    title = "Insufficient scope"


class NotificationNotFound(NotFound):
    slug = "notification-not-found"
    title = "Notification not found"


class WebhookNotFound(NotFound):
    slug = "webhook-not-found"
    title = "Webhook subscription not found"


class WebhookDeliveryNotFound(NotFound):
    slug = "webhook-delivery-not-found"
    title = "Webhook delivery not found"
