"""Fixtures for realtime tests: streams, an in-process server, our own Redis."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

import models
from schema.context import Context
from subscriptions import broker, sessions
from subscriptions.broker import RapportBroadcast
from subscriptions.redis_backend import RedisPubSubBackend
from tests.subscriptions.support import RedisServer, free_port, until


class Stream:
    """A subscription running in the background; results wait in a queue."""

    def __init__(self, source: Any) -> None:
        self.results: asyncio.Queue[Any] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump(source))

    async def _pump(self, source: Any) -> None:
        async with contextlib.aclosing(source):
            async for result in source:
                await self.results.put(result)

    async def next(self, timeout: float = 5.0) -> Any:
        return await asyncio.wait_for(self.results.get(), timeout)

    async def data(self, timeout: float = 5.0) -> dict[str, Any]:
        result = await self.next(timeout)
        assert not result.errors, result.errors
        return result.data

    async def nothing_more(self, settle: float = 0.3) -> bool:
        """True when nothing arrives while the event loop settles."""
        await asyncio.sleep(settle)
        return self.results.empty()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def subscribe(schema: Any) -> AsyncIterator[Callable[..., Any]]:
    """Start a subscription as `as_user`; returns once it is listening.

    A refused subscription returns at once, with its error as first result.
    """
    streams: list[Stream] = []

    async def start(
        document: str,
        variables: dict[str, Any] | None = None,
        as_user: models.User | None = None,
    ) -> Stream:
        before = broker.subscription_count()
        ctx = Context(viewer=as_user)
        source = await schema.subscribe(
            document, variable_values=variables, context_value=ctx
        )
        stream = Stream(source)
        streams.append(stream)
        await until(
            lambda: (
                broker.subscription_count() > before
                or not stream.results.empty()
                or stream.task.done()
            )
        )
        return stream

    yield start
    for stream in streams:
        await stream.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def own_redis_broker(
    redis_server: RedisServer,
) -> AsyncIterator[RapportBroadcast]:
    """The process's broker, for one test, on a redis-server we may restart."""
    previous = broker._broadcast
    broadcast = RapportBroadcast(RedisPubSubBackend(redis_server.url, backoff_max=0.2))
    await broadcast.connect()
    broker._broadcast = broadcast
    try:
        yield broadcast
    finally:
        broker._broadcast = previous
        await broadcast.disconnect()


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Leave Ctrl-C to pytest.
        yield


@pytest.fixture(scope="session")
async def live_server(_database: None) -> AsyncIterator[str]:
    """The app on a real port in this process (host:port), sharing its database,
    broker and clock with the test; started without its lifespan, which the
    session's fixtures already do."""
    import app as app_module
    from settings import get_settings

    application = app_module.create_app(get_settings())
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = _InProcessServer(config)
    serving = asyncio.create_task(server.serve())
    revocations = asyncio.create_task(sessions.listen_for_revocations())
    await until(lambda: server.started or serving.done(), timeout=10)
    assert server.started, "the in-process server did not start"
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await serving
    revocations.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await revocations
