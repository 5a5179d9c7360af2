"""The process's broker: in-process by default, Redis when REDIS_URL is set."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from broadcaster import Broadcast, Event
from broadcaster._backends.base import BroadcastBackend
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

logger = logging.getLogger(__name__)

_broadcast: "RapportBroadcast | None" = None


class RapportBroadcast(Broadcast):
    """broadcaster's Broadcast, safe when many subscribe to one channel at once.

    The stock subscribe() checks for local subscribers, awaits the backend,
    then stores its queue: two first subscribers of a channel both subscribe
    and the second overwrites the first, which then hears nothing and fails
    on leaving. Here the queue is registered before any await, and one task
    per channel at a time brings the backend in line with what is wanted.
    """

    def __init__(self, backend: BroadcastBackend) -> None:
        super().__init__(backend=backend)
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._active: set[str] = set()
        self._listening = 0

    @property
    def backend(self) -> BroadcastBackend:
        return self._backend

    async def publish_many(self, events: Sequence[tuple[str, str]]) -> None:
        """Through the backend's batch when it has one (Redis pipelines)."""
        batch = getattr(self._backend, "publish_many", None)
        if batch is not None:
            await batch(events)
            return
        for channel, message in events:
            await self._backend.publish(channel, message)

    def subscription_count(self) -> int:
        """Subscriptions that are listening (subscribed, and not yet left)."""
        return self._listening

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Any]:
        from broadcaster._base import Subscriber

        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)
        listening = False
        try:
            # Shielded: a socket dropped mid-subscribe must not leave the
            # backend half-way; the finally below then undoes it in order.
            await asyncio.shield(self._reconcile(channel))
            self._listening += 1
            listening = True
            yield Subscriber(queue)
        finally:
            if listening:
                self._listening -= 1
            queues = self._subscribers.get(channel)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[channel]
            if channel not in self._subscribers:
                await asyncio.shield(self._reconcile(channel))

    async def _reconcile(self, channel: str) -> None:
        """Subscribe the backend while the channel has local subscribers, else not."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        self._lock_users[channel] = self._lock_users.get(channel, 0) + 1
        try:
            async with lock:
                while (channel in self._subscribers) != (channel in self._active):
                    if channel in self._subscribers:
                        self._active.add(channel)
                        await self._backend.subscribe(channel)
                    else:
                        self._active.discard(channel)
                        await self._backend.unsubscribe(channel)
        except Exception:
            logger.exception("Broker subscription change failed channel=%s", channel)
        finally:
            self._lock_users[channel] -= 1
            if not self._lock_users[channel]:
                del self._lock_users[channel]
                del self._locks[channel]


def broker_url(redis_url: str | None) -> str:
    return redis_url if redis_url else "memory://"


async def start_broker(redis_url: str | None) -> Broadcast:
    global _broadcast
    from subscriptions.redis_backend import make_broadcast

    broadcast = make_broadcast(redis_url)
    await broadcast.connect()
    _broadcast = broadcast
    return broadcast


async def stop_broker() -> None:
    global _broadcast
    if _broadcast is not None:
        await _broadcast.disconnect()
        _broadcast = None


def get_broadcast() -> "RapportBroadcast":
    assert _broadcast is not None, "start_broker() must run before publishing"
    return _broadcast


def subscription_count() -> int:
    """Live local subscriptions, across channels (tests and /metrics)."""
    return _broadcast.subscription_count() if _broadcast is not None else 0


def _inside_transaction() -> bool:
    try:
        return isinstance(connections.get("default"), TransactionalDBClient)
    except Exception:
        return False


async def publish(channel: str, payload: dict[str, Any]) -> None:
    """Send after commit. A broker failure never undoes the committed change."""
    await publish_many([(channel, payload)])


async def publish_many(events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Send events of one change together: one round trip to Redis, not one each."""
    # An event sent before its commit makes subscribers load the old state
    # (and a rollback would announce what never happened).
    assert not _inside_transaction(), "publish() must run after the commit"
    if not events:
        return
    encoded = [(channel, orjson.dumps(payload).decode()) for channel, payload in events]
    try:
        await get_broadcast().publish_many(encoded)
    except Exception as error:
        # Subscribers recover what they missed by replaying from the database.
        # No traceback: during an outage every mutation would print one.
        logger.warning(
            "Publish failed channel=%s error=%s",
            ",".join(channel for channel, _ in encoded),
            type(error).__name__,
        )


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
