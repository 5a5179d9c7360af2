"""Websockets end when their session is revoked (logOut) or expires."""

import asyncio
import logging
from collections import defaultdict
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

import clock
import models
from schema.context import Context
from subscriptions.broker import listen, publish

logger = logging.getLogger(__name__)

REVOKED_CHANNEL = "rapport:sessions:revoked"
CLOSE_FORBIDDEN = 4403
_SCOPE_KEY = "rapport.session"

# One listener per process, not one Redis subscription per connection.
_sockets: dict[str, set[WebSocket]] = defaultdict(set)


async def track(context: Context) -> None:
    """Remember an authenticated socket; close it when its session ends."""
    socket = context.request
    if context.session_id is None or not isinstance(socket, WebSocket):
        return
    session = await models.Session.get(id=context.session_id)
    _sockets[session.id].add(socket)
    delay = max(0.0, (session.expires_at - clock.now()).total_seconds())
    timer = asyncio.get_running_loop().call_later(
        delay, lambda: asyncio.ensure_future(_close(socket, "Session expired"))
    )
    socket.scope[_SCOPE_KEY] = (session.id, timer)


def untrack(scope: dict[str, Any]) -> None:
    """Called when the connection ends, however it ends."""
    tracked = scope.pop(_SCOPE_KEY, None)
    if tracked is None:
        return
    session_id, timer = tracked
    timer.cancel()
    sockets = _sockets.get(session_id)
    if sockets is not None:
        sockets.difference_update(
            s for s in list(sockets) if s.scope is scope
        )
        if not sockets:
            _sockets.pop(session_id, None)


def tracked_count() -> int:
    return sum(len(sockets) for sockets in _sockets.values())


async def _close(socket: WebSocket, reason: str) -> None:
    if socket.application_state == WebSocketState.CONNECTED:
        try:
            await socket.close(code=CLOSE_FORBIDDEN, reason=reason)
        except RuntimeError:
            pass  # already closing


async def announce_revoked(session_id: str) -> None:
    await publish(REVOKED_CHANNEL, {"kind": "revoked", "session_id": session_id})


async def listen_for_revocations() -> None:
    """Runs for the life of the process (started in the app's lifespan)."""
    async with listen(REVOKED_CHANNEL) as events:
        async for event in events:
            for socket in list(_sockets.get(event.get("session_id", ""), ())):
                await _close(socket, "Logged out")
