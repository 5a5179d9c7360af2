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
        sockets.difference_update(s for s in list(sockets) if s.scope is scope)
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
    while True:
        try:
            async with listen(REVOKED_CHANNEL) as events:
                async for event in events:
                    await _on_revocation_event(event)
        except Exception:
            # Dying here would leave logged-out sockets open for good.
            logger.exception("Revocation listener failed; restarting")
            await asyncio.sleep(1)


async def _on_revocation_event(event: dict[str, Any]) -> None:
    if event.get("kind") == "resync":
        await _close_ended_sessions()
        return
    for socket in list(_sockets.get(event.get("session_id", ""), ())):
        await _close(socket, "Logged out")


async def _close_ended_sessions() -> None:
    # A logOut announced while the broker was down never arrived: ask the
    # database about every session we hold a socket for.
    from resolvers.auth import session_is_live

    for session_id in list(_sockets):
        try:
            live = await session_is_live(session_id)
        except Exception:
            logger.warning("Session check failed", exc_info=True)
            continue
        if not live:
            for socket in list(_sockets.get(session_id, ())):
                await _close(socket, "Session ended")
