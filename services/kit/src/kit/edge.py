"""The one layer in front of every app's routes: kit's steps for each request, in one pass.

In order, each as its own module defines it:

1. the request id, the access log line, the request metrics and the last-resort 500/503
   (:mod:`kit.observability`);
2. the body's declared size, then its size and time as it arrives, and a NUL in the path
   or a query parameter (:mod:`kit.limits`);
3. for a service, the internal token, outside the public paths (:mod:`kit.identity`);
4. a trailing slash, a wrong method on a static path (:mod:`kit.routing`), then an
   ``Idempotency-Key`` on a POST (:mod:`kit.idempotency`): :class:`RoutedMiddleware`.
   The gateway runs it on its own, after its authentication; a service runs it here.

They were six middleware layers, each a coroutine per request and four of them reading
the headers again. Here the headers are read once, and a step a request does not need (no
``Idempotency-Key``, not a POST) costs an ``if``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from kit.errors import Unauthorized, domain_error_response
from kit.idempotency import HEADER as IDEMPOTENCY_HEADER
from kit.idempotency import IdempotencyMiddleware
from kit.identity import Caller, InternalTokenVerifier, internal_caller
from kit.limits import (
    Refuse,
    declared_length_refusal,
    limited,
    problem_refusal,
    unstorable_refusal,
)
from kit.observability import REQUEST_ID_HEADER, in_request_context, request_id_or_new
from kit.routing import RouteShapes


class RoutedMiddleware:
    """The last of kit's steps before FastAPI's router: the path's shape (308, 404, 405),
    then the ``Idempotency-Key`` of a POST from an authenticated caller. The idempotency
    store exists only once the lifespan has run, so it is looked up per keyed request."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self.shapes = RouteShapes(owner)
        self._keyed: IdempotencyMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = None
        if scope["method"] == "POST":
            key = next(
                (value for name, value in scope.get("headers", ()) if name == IDEMPOTENCY_HEADER),
                None,
            )
        await self.enter(scope, receive, send, key)

    async def enter(self, scope: Scope, receive: Receive, send: Send, key: bytes | None) -> None:
        """The request, whose ``Idempotency-Key`` header (or None) the caller has read."""
        refusal = self.shapes.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if key is not None and scope["method"] == "POST":
            caller = scope.get("state", {}).get("caller")
            store = getattr(self.owner.state, "idempotency", None)
            if isinstance(caller, Caller) and store is not None:
                if self._keyed is None or self._keyed.store is not store:
                    self._keyed = IdempotencyMiddleware(self.app, store=store)
                await self._keyed.keyed(
                    scope,
                    receive,
                    send,
                    key=key.decode("latin-1"),
                    principal=caller.principal_key,
                )
                return
        await self.app(scope, receive, send)


class EdgeMiddleware:
    """Steps 1 to 3 of the module docstring, and step 4 when given the ``owner`` app (a
    service: nothing runs between its internal token and its routes). ``refuse`` renders
    the refusals of step 2 (the gateway answers SCIM clients in SCIM's error body)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        app_name: str,
        max_bytes: int,
        timeout_seconds: float | None = None,
        refuse: Refuse = problem_refusal,
        verifier: InternalTokenVerifier | None = None,
        public_paths: Iterable[str] = (),
        owner: FastAPI | None = None,
    ) -> None:
        self.app = app
        self.app_name = app_name
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.refuse = refuse
        self.verifier = verifier
        self.public_paths = frozenset(public_paths)
        self.routed = RoutedMiddleware(app, owner=owner) if owner is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = length = authorization = key = None
        for name, value in scope.get("headers", ()):
            # The first of each counts, as everywhere else in kit.
            if name == b"content-length":
                length = value if length is None else length
            elif name == b"authorization":
                authorization = value if authorization is None else authorization
            elif name == REQUEST_ID_HEADER:
                request_id = value if request_id is None else request_id
            elif name == IDEMPOTENCY_HEADER:
                key = value if key is None else key
        checked = partial(self._checked, length=length, authorization=authorization, key=key)
        await in_request_context(
            self.app_name, checked, scope, receive, send, request_id_or_new(request_id)
        )

    async def _checked(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        length: bytes | None,
        authorization: bytes | None,
        key: bytes | None,
    ) -> None:
        if length is not None:
            too_large = declared_length_refusal(length, self.max_bytes)
            if too_large is not None:
                await self.refuse(too_large, scope)(scope, receive, send)
                return
        receive = limited(receive, self.max_bytes, self.timeout_seconds)
        unstorable = unstorable_refusal(scope)
        if unstorable is not None:
            await self.refuse(unstorable, scope)(scope, receive, send)
            return
        if self.verifier is not None and scope["path"] not in self.public_paths:
            try:
                caller = internal_caller(self.verifier, authorization)
            except Unauthorized as error:
                await domain_error_response(error, instance=scope["path"])(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        if self.routed is not None:
            await self.routed.enter(scope, receive, send, key)
        else:
            await self.app(scope, receive, send)
