"""The process's broker: in-process by default, Redis when REDIS_URL is set."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from broadcaster import Broadcast

logger = logging.getLogger(__name__)

_broadcast: Broadcast | None = None


def broker_url(redis_url: str | None) -> str:
    return redis_url if redis_url else "memory://"


async def start_broker(redis_url: str | None) -> Broadcast:
    global _broadcast
    from subscriptions.redis_backend import make_broadcast

    _broadcast = make_broadcast(redis_url)
    await _broadcast.connect()
    return _broadcast


async def stop_broker() -> None:
    global _broadcast
    if _broadcast is not None:
        await _broadcast.disconnect()
        _broadcast = None


def get_broadcast() -> Broadcast:
    assert _broadcast is not None, "start_broker() must run before publishing"
    return _broadcast


async def publish(channel: str, payload: dict[str, Any]) -> None:
    """Send after commit. A broker failure never undoes the committed change."""
    try:
        await get_broadcast().publish(channel, orjson.dumps(payload).decode())
    except Exception:
        # Subscribers recover what they missed by replaying from the database.
        logger.warning("Publish failed channel=%s", channel, exc_info=True)


@asynccontextmanager
async def listen(channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """Decoded events of one channel; leaving the block unsubscribes."""
    async with get_broadcast().subscribe(channel) as subscriber:

        async def events() -> AsyncIterator[dict[str, Any]]:
            async for event in subscriber:
                if event is None:
                    return
                yield orjson.loads(event.message)

        yield events()


async def is_healthy() -> bool:
    """Readiness: the broker is connected and answering."""
    if _broadcast is None:
        return False
    from subscriptions.redis_backend import backend_is_healthy

    return await backend_is_healthy(_broadcast)
