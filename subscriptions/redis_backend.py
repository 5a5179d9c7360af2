"""Broadcast construction. (Redis backend with reconnection: see issue #3.)"""

from broadcaster import Broadcast


def make_broadcast(redis_url: str | None) -> Broadcast:
    return Broadcast(redis_url or "memory://")


async def backend_is_healthy(broadcast: Broadcast) -> bool:
    return True
