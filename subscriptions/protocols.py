"""Strawberry's two websocket protocol handlers, with frames checked and errors coded.

Strawberry trusts a frame's shape: `{"type": "subscribe", "payload": [1]}`
raised a TypeError inside its handler and dropped the socket with no close
frame. Its own refusals (the per-connection operation limit) carry no
`extensions.code`, and a client that vanished mid-delivery was logged as an
error with a traceback. These subclasses fix the three.
"""

import logging
from typing import Any

from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import (
    BaseGraphQLWSHandler,
)
from uvicorn.protocols.utils import ClientDisconnected

logger = logging.getLogger(__name__)

_GONE = (WebSocketDisconnect, WebSocketDisconnected, ClientDisconnected)

_OPERATION_LIMIT = "Subscription limit reached"
_OPERATION_LIMIT_SAYS = (
    "This connection already runs as many operations as it may: complete some "
    "before starting more."
)


def operation_problem(payload: Any) -> str | None:
    """What is wrong with a subscribe/start payload, in words; None if nothing."""
    if not isinstance(payload, dict):
        return "expected the payload to be an object with a query"
    if not isinstance(payload.get("query"), str):
        return "expected the payload's query to be a string"
    if not isinstance(payload.get("variables") or {}, dict):
        return "expected the payload's variables to be an object"
    if not isinstance(payload.get("operationName") or "", str):
        return "expected the payload's operationName to be a string"
    return None


def _coded(error: Any) -> Any:
    """An error of the protocol's own with an API.md code, as every error has."""
    if not isinstance(error, dict):
        return error
    extensions = error.get("extensions") or {}
    if "code" in extensions:
        return error
    message = error.get("message")
    if message == _OPERATION_LIMIT:
        message = _OPERATION_LIMIT_SAYS
    extensions = {**extensions, "code": "BAD_USER_INPUT"}
    return {**error, "message": message, "extensions": extensions}


def _with_codes(message: Any) -> Any:
    if not isinstance(message, dict) or message.get("type") != "error":
        return message
    payload = message.get("payload")
    if isinstance(payload, list):
        return {**message, "payload": [_coded(e) for e in payload]}
    return {**message, "payload": _coded(payload)}


async def _log_task_failure(error: Exception, handler: Any) -> None:
    if isinstance(error, _GONE):
        # The client left mid-delivery: a mobile network, a closed tab.
        logger.debug("Websocket client gone during an operation")
        return
    await handler(error)


class TransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws."""

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("expected a JSON object with a type")
            return
        if message["type"] == "subscribe":
            problem = operation_problem(message.get("payload"))
            if problem is None and not isinstance(message.get("id"), str):
                problem = "expected a string id"
            if problem is not None:
                await self.handle_invalid_message(problem)
                return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(_with_codes(message))

    async def handle_task_exception(self, error: Exception) -> None:
        await _log_task_failure(error, super().handle_task_exception)


class LegacyWSHandler(BaseGraphQLWSHandler):
    """The legacy graphql-ws protocol (subscriptions-transport-ws)."""

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.websocket.close(code=4400, reason="expected a JSON object")
            return
        if message["type"] == "start":
            problem = operation_problem(message.get("payload"))
            if problem is not None:
                await self.send_message(
                    {
                        "type": "error",
                        "id": message.get("id"),
                        "payload": {
                            "message": problem,
                            "extensions": {"code": "BAD_USER_INPUT"},
                        },
                    }
                )
                return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(_with_codes(message))
