"""Broadcast backends: Redis pub/sub that survives restarts, or in-process."""

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
from broadcaster import Broadcast, Event
from broadcaster._backends.base import BroadcastBackend
from broadcaster._backends.memory import MemoryBackend
from redis import asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After each reconnection every subscribed channel gets this event, encoded as
# broker.publish encodes, so live streams replay from the database what the
# outage swallowed.
RESYNC_MESSAGE = orjson.dumps({"kind": "resync"}).decode()

# Reconnections of the subscriber connection since the process started
# (exposed on /metrics).
reconnects_total = 0

PUBLISH_TIMEOUT = 0.5
CONFIRM_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0
HEALTH_TIMEOUT = 0.5
PING_INTERVAL = 5.0
# No reply at all (not even to our PINGs) for this long: the link is dead.
SILENCE_LIMIT = 3 * PING_INTERVAL
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 2.0
# After a failed publish, further publishes fail at once for this long, so a
# stalled Redis costs each mutation nothing rather than a timeout per event.
FAST_FAIL_SECONDS = 1.0
# Channels owed a resync are remembered up to this many; past it the oldest
# wait for the next reconnection's resync instead.
MAX_OWED = 10_000

_NETWORK_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class RedisPubSubBackend(BroadcastBackend):
    """Redis pub/sub for broadcaster, unlike its own: subscribe returns only once
    Redis has confirmed the SUBSCRIBE, the channels are remembered, and a
    dropped connection is re-established with backoff, followed by a resync
    event on every channel.

    One task owns the subscriber connection and is its only reader; other
    tasks only write SUBSCRIBE/UNSUBSCRIBE to it. Publishing uses a separate
    client that fails fast, so a mutation never waits on a broker outage.

    A publish that fails is owed a resync on its channel, sent as soon as
    Redis answers again: when Redis stalls rather than drops, subscribers'
    connections never break and would otherwise never learn what they missed.
    """

    def __init__(
        self,
        url: str,
        *,
        backoff_max: float = BACKOFF_MAX,
        start_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._url = url
        self._backoff_max = backoff_max
        self._start_timeout = start_timeout
        self._publisher = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=PUBLISH_TIMEOUT,
            socket_timeout=PUBLISH_TIMEOUT,
            # One immediate retry gets past a pooled connection that died with
            # a restarted server; more would hold the mutation up.
            retry=Retry(NoBackoff(), 1),
        )
        self._pool = aioredis.ConnectionPool.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SILENCE_LIMIT,
        )
        self._channels: set[str] = set()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._resync_due: set[str] = set()
        # Channel -> the failure's number, oldest first: a channel that fails
        # again while its resync is on the way stays owed.
        self._owed: dict[str, int] = {}
        self._failures = 0
        self._settler: asyncio.Task[None] | None = None
        self._failing_until = 0.0
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._conn: Connection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._channels)

    @property
    def is_connected(self) -> bool:
        return self._conn is not None and self._conn.is_connected

    async def connect(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="redis-pubsub")
        try:
            await asyncio.wait_for(self._connected.wait(), self._start_timeout)
        except asyncio.TimeoutError:
            # Serve anyway: mutations commit without a broker, /readyz says
            # so, and the runner keeps trying.
            logger.warning("Broker not reachable at start; retrying in background")

    async def disconnect(self) -> None:
        if self._settler is not None:
            self._settler.cancel()
            self._settler = None
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
            self._runner = None
        await self._publisher.aclose()
        await self._pool.disconnect()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        conn = self._conn
        if conn is None or not conn.is_connected:
            return  # subscribed, with a resync, when the connection is back
        confirmed = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault(channel, deque())
        waiters.append(confirmed)
        try:
            await conn.send_command("SUBSCRIBE", channel, check_health=False)
            await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_TIMEOUT)
        except _NETWORK_ERRORS:
            # The runner sees the same failure, reconnects and resyncs.
            logger.warning("Subscribe not confirmed channel=%s", channel)
        finally:
            if confirmed in waiters:
                waiters.remove(confirmed)
            if not waiters:
                self._waiting.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        conn = self._conn
        if conn is None or not conn.is_connected:
            return  # a new connection subscribes only to what is remembered
        try:
            await conn.send_command("UNSUBSCRIBE", channel, check_health=False)
        except _NETWORK_ERRORS:
            logger.warning("Unsubscribe failed channel=%s", channel)

    @property
    def owed_resyncs(self) -> frozenset[str]:
        return frozenset(self._owed)

    async def publish(self, channel: str, message: Any) -> None:
        await self.publish_many([(channel, message)])

    async def publish_many(self, events: Sequence[tuple[str, Any]]) -> None:
        """Every event in one pipeline: one round trip for a change's events."""
        loop = asyncio.get_running_loop()
        channels = [channel for channel, _ in events]
        if loop.time() < self._failing_until:
            self._owe_resyncs(channels)
            raise ConnectionError("the broker failed moments ago")
        try:
            async with self._publisher.pipeline(transaction=False) as pipe:
                for channel, message in events:
                    pipe.publish(channel, message)
                await asyncio.wait_for(pipe.execute(), PUBLISH_TIMEOUT)
        except _NETWORK_ERRORS:
            self._failing_until = loop.time() + FAST_FAIL_SECONDS
            self._owe_resyncs(channels)
            raise

    def _owe_resyncs(self, channels: Sequence[str]) -> None:
        self._failures += 1
        for channel in channels:
            self._owed.pop(channel, None)
            self._owed[channel] = self._failures
        while len(self._owed) > MAX_OWED:
            del self._owed[next(iter(self._owed))]
        if self._settler is None or self._settler.done():
            self._settler = asyncio.create_task(
                self._settle_owed(), name="redis-owed-resyncs"
            )

    async def _settle_owed(self) -> None:
        """Publish a resync on every channel a publish failed on, once Redis
        answers; streams then replay from the database what was lost."""
        delay = BACKOFF_FIRST
        while self._owed:
            await asyncio.sleep(delay)
            snapshot = dict(self._owed)
            channels = list(snapshot)
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for channel in channels:
                        pipe.publish(channel, RESYNC_MESSAGE)
                    await asyncio.wait_for(pipe.execute(), CONFIRM_TIMEOUT)
            except _NETWORK_ERRORS:
                delay = min(delay * 2, self._backoff_max)
                continue
            for channel, failure in snapshot.items():
                if self._owed.get(channel) == failure:
                    del self._owed[channel]
            self._failing_until = 0.0
            delay = BACKOFF_FIRST
            logger.info("Resync sent after failed publishes channels=%s", len(channels))

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def is_healthy(self) -> bool:
        """Both directions work: we can publish, and our subscriber is connected."""
        if not self.is_connected:
            return False
        try:
            return bool(await asyncio.wait_for(self._publisher.ping(), HEALTH_TIMEOUT))
        except _NETWORK_ERRORS:
            return False

    async def drop_connection(self) -> None:
        """Close the subscriber connection as a network failure would (tests)."""
        if self._conn is not None:
            await self._conn.disconnect(nowait=True)

    async def _run(self) -> None:
        global reconnects_total
        delay = BACKOFF_FIRST
        was_connected = False
        outage_logged = False
        while True:
            try:
                conn = await self._open()
            except Exception:
                if not outage_logged:
                    logger.warning("Broker unreachable; retrying with backoff")
                    outage_logged = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)
                continue

            delay, outage_logged = BACKOFF_FIRST, False
            if was_connected:
                reconnects_total += 1
                logger.info("Broker reconnected channels=%s", len(self._channels))
            was_connected = True
            self._connected.set()
            pinger = asyncio.create_task(self._ping(conn), name="redis-pubsub-ping")
            try:
                await self._read(conn)
            except _NETWORK_ERRORS:
                logger.warning("Broker connection lost; reconnecting")
            except Exception:
                # Never die quietly: a dead reader is a deaf server.
                logger.exception("Broker reader failed; reconnecting")
            finally:
                pinger.cancel()
                self._conn = None
                self._connected.clear()
                self._release_waiters()
                await conn.disconnect(nowait=True)

    async def _open(self) -> Connection:
        conn: Connection = self._pool.make_connection()
        try:
            await conn.connect()
            # Set before the snapshot, with no await in between: a channel
            # added from now on is sent by subscribe() itself, one added
            # before is in the batch.
            self._conn = conn
            batch = sorted(self._channels)
            self._resync_due = set(batch)
            if batch:
                await conn.send_command("SUBSCRIBE", *batch, check_health=False)
        except BaseException:
            self._conn = None
            await conn.disconnect(nowait=True)
            raise
        return conn

    async def _read(self, conn: Connection) -> None:
        while True:
            reply = await conn.read_response(timeout=None)
            if not isinstance(reply, list) or len(reply) < 2:
                continue  # PONG outside subscribed mode
            kind = reply[0]
            name = reply[1]
            channel = name.decode(errors="replace") if isinstance(name, bytes) else ""
            if kind == b"message":
                message = reply[2].decode(errors="replace")
                self._queue.put_nowait(Event(channel, message))
            elif kind == b"subscribe":
                self._confirmed(channel)

    def _confirmed(self, channel: str) -> None:
        if channel in self._resync_due:
            # Re-established after a connection loss: whatever was published
            # meanwhile is gone, so tell the streams to replay.
            self._resync_due.discard(channel)
            self._queue.put_nowait(Event(channel, RESYNC_MESSAGE))
            return
        waiters = self._waiting.get(channel)
        while waiters:
            confirmed = waiters.popleft()
            if not confirmed.done():
                confirmed.set_result(None)
                return

    def _release_waiters(self) -> None:
        # Subscribers waiting on a lost connection go on; their channels are
        # in the next connection's batch, so they get a resync.
        for waiters in self._waiting.values():
            for confirmed in waiters:
                if not confirmed.done():
                    confirmed.set_result(None)
        self._waiting.clear()

    async def _ping(self, conn: Connection) -> None:
        # Replies keep the reader's socket timeout from firing; silence means
        # the link is dead even if no error reached us.
        try:
            while True:
                await asyncio.sleep(PING_INTERVAL)
                if not conn.is_connected:
                    return
                await conn.send_command("PING", check_health=False)
        except _NETWORK_ERRORS:
            return


def make_broadcast(redis_url: str | None) -> Broadcast:
    from subscriptions.broker import RapportBroadcast

    if redis_url:
        return RapportBroadcast(RedisPubSubBackend(redis_url))
    return RapportBroadcast(MemoryBackend("memory://"))


def redis_backend(broadcast: Broadcast) -> RedisPubSubBackend | None:
    backend = broadcast._backend
    return backend if isinstance(backend, RedisPubSubBackend) else None


async def backend_is_healthy(broadcast: Broadcast) -> bool:
    backend = redis_backend(broadcast)
    if backend is None:
        return True  # in-process: as healthy as the process
    return await backend.is_healthy()
