"""Request body size limit (413 problem+json), checked before the body is read."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.errors import BadRequest, DomainError, PayloadTooLarge, domain_error_response


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")


class BodySizeLimitMiddleware:
    """Refuses a declared ``Content-Length`` over the limit at once, and stops a streamed
    (chunked) body as soon as it crosses the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    error: DomainError = (
                        _too_large(self.max_bytes)
                        if value.isdigit()
                        else BadRequest("Content-Length must be a number of bytes.")
                    )
                    await domain_error_response(error, instance=scope["path"])(scope, receive, send)
                    return
                break
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised into whoever reads the body; the error handlers render it.
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)
