"""ASGI middleware: request ids, the body limit, JSON errors, access log, timing."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

import observability
from settings import Settings, get_settings

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("rapport.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INTERNAL_MESSAGE = "Something went wrong on our side; it has been logged."
UNAVAILABLE_MESSAGE = observability.UNAVAILABLE_MESSAGE

# A GET has no body: what did not parse is its variables parameter.
_UNPARSED_JSON = "Unable to parse request body as JSON"
_SAY_GET_VARIABLES = (
    "The variables parameter is not valid JSON: send it as a URL-encoded JSON "
    'object, like variables={"id":"..."}.'
)

# Strawberry answers transport problems in plain text; clients expect the
# GraphQL errors shape, in words they can act on.
_FRIENDLIER = {
    _UNPARSED_JSON: (
        'The request body is not valid JSON: send {"query": "...", '
        '"variables": {...}} as application/json.'
    ),
    "Unsupported content type": (
        "Send POST bodies as application/json, or queries as GET ?query=."
    ),
    "No GraphQL query found in the request": (
        'No GraphQL query found: send {"query": "..."}.'
    ),
}

# GraphQL over HTTP: a mutation sent by GET is 405, with the method to use.
_MUTATION_OVER_GET = "mutations are not allowed when using GET"
_SAY_POST = (
    "Mutations change data, so they are sent with POST, never GET: POST the "
    'same {"query": "..."} as application/json.'
)

_ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics", "/calendar", "/static")


class StartupFailed(Exception):
    """Start-up cannot go on; the message says why and what to check."""


def error_body(message: str, code: str) -> bytes:
    return orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}
    )


def route_label(path: str) -> str:
    for route in _ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    return "other"


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class RequestMiddleware:
    """Outermost of ours: every request and websocket passes through here."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings or get_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        else:  # pragma: no cover - ASGI has no other scope types today
            await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_clearly(message: Message) -> None:
            # Starlette sends the traceback as the failure message; for a
            # failure we foresaw, the reason alone reads better.
            failure = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(
                failure, StartupFailed
            ):
                message = {**message, "message": str(failure)}
            await send(message)

        await self.app(scope, receive, send_clearly)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or ())
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        observability.begin_request(observability.new_request_id(offered))
        observability.WEBSOCKETS.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            observability.WEBSOCKETS.dec()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = dict(scope.get("headers") or ())
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        info = observability.begin_request(observability.new_request_id(offered))
        path = scope.get("path", "")
        state: dict[str, Any] = {"status": 499, "bytes": 0}

        async def reply(status: int, message: str, code: str) -> None:
            body = error_body(message, code)
            await self._send_json(send, status, body, info.request_id)
            state["status"] = status
            info.outcome = info.outcome or code

        try:
            body = await self._read_body(scope, receive, headers)
        except BodyTooLarge:
            observability.REFUSED.labels("body_too_large").inc()
            limit = self.settings.max_body_bytes
            await reply(
                413,
                f"The request body is larger than the {limit:,}-byte limit.",
                "BAD_USER_INPUT",
            )
            self._finish(scope, state, info, started)
            return
        except ClientGone:
            self._finish(scope, state, info, started)
            return
        except ValueError:
            observability.REFUSED.labels("bad_content_length").inc()
            await reply(400, "Content-Length is not a number.", "BAD_USER_INPUT")
            self._finish(scope, state, info, started)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        held: dict[str, Any] = {"method": scope.get("method", "GET")}
        send_on = self._wrap_send(send, path, state, info, held)
        try:
            await self.app(scope, replay, send_on)
        except Exception as error:
            if state.get("started"):
                logger.error(
                    "Unhandled error after the response started", exc_info=error
                )
                self._finish(scope, state, info, started)
                return
            unavailable = observability.dependency_is_down(error)
            if unavailable:
                # The database or broker is away; /readyz says so too.
                logger.warning(
                    "Dependency unavailable route=%s error=%s",
                    route_label(path),
                    type(error).__name__,
                )
            else:
                logger.error(
                    "Unhandled error route=%s", route_label(path), exc_info=error
                )
            await reply(
                503 if unavailable else 500,
                UNAVAILABLE_MESSAGE if unavailable else INTERNAL_MESSAGE,
                "INTERNAL",
            )
        self._finish(scope, state, info, started)

    async def _read_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
    ) -> bytes:
        """The whole body, refused past the limit, declared or not (chunked)."""
        limit = self.settings.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and int(declared) > limit:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _wrap_send(
        self,
        send: Send,
        path: str,
        state: dict[str, Any],
        info: Any,
        held: dict[str, Any],
    ) -> Send:
        async def send_on(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                headers = list(message.get("headers") or ())
                headers.append((b"x-request-id", info.request_id.encode()))
                message = {**message, "headers": headers}
                if _is_plain_error(message, path):
                    held["start"], held["chunks"] = message, []
                    return
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
                if "start" in held:
                    held["chunks"].append(message.get("body", b""))
                    if message.get("more_body", False):
                        return
                    await self._send_as_json(send, held, info)
                    return
            await send(message)

        return send_on

    async def _send_as_json(self, send: Send, held: dict[str, Any], info: Any) -> None:
        start = held["start"]
        status = start["status"]
        text = b"".join(held["chunks"]).decode("utf-8", "replace").strip()
        message = _FRIENDLIER.get(text, text or "The request could not be served.")
        headers = start.get("headers")
        if text == _MUTATION_OVER_GET:
            status, message = 405, _SAY_POST
            headers = [*(headers or ()), (b"allow", b"POST")]
        elif text == _UNPARSED_JSON and held["method"] == "GET":
            message = _SAY_GET_VARIABLES
        code = "NOT_FOUND" if status == 404 else "BAD_USER_INPUT"
        info.outcome = info.outcome or code
        observability.REFUSED.labels(f"http_{status}").inc()
        await self._send_json(
            send,
            status,
            error_body(message, code),
            info.request_id,
            headers,
        )

    async def _send_json(
        self,
        send: Send,
        status: int,
        body: bytes,
        request_id: str,
        base_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        dropped = {b"content-type", b"content-length", b"x-request-id"}
        headers = [
            (name, value)
            for name, value in base_headers or ()
            if name.lower() not in dropped
        ]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    def _finish(
        self, scope: Scope, state: dict[str, Any], info: Any, started: float
    ) -> None:
        seconds = time.perf_counter() - started
        route = route_label(scope.get("path", ""))
        method = scope.get("method", "GET")
        status = state["status"]
        observability.HTTP_REQUESTS.labels(method, route, str(status)).inc()
        observability.HTTP_SECONDS.labels(route).observe(seconds)
        if not self.settings.access_log or route in ("/metrics", "/healthz"):
            return
        operation = ",".join(info.operations) or None
        # The path only, never the query string: GET /graphql carries the
        # document and its variables there. RedactFilter hides feed secrets.
        access_logger.info(
            "Request method=%s path=%s status=%s duration_ms=%.1f "
            "operation=%s outcome=%s",
            method,
            scope.get("path", ""),
            status,
            seconds * 1000,
            operation or "-",
            info.outcome or "-",
            extra={
                "method": method,
                "path": observability.scrub(scope.get("path", "")),
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "operation": operation,
                "outcome": info.outcome,
                "bytes": state["bytes"],
            },
        )


def _is_plain_error(message: Message, path: str) -> bool:
    if message["status"] < 400 or route_label(path) != "/graphql":
        return False
    for name, value in message.get("headers") or ():
        if name.lower() == b"content-type":
            return value.startswith(b"text/plain")
    return False
