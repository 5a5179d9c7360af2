"""The broker: many subscribers at once, after-commit publishing, Redis faults."""

import asyncio
import logging

import pytest
from tortoise.transactions import in_transaction

import models
from subscriptions import broker, redis_backend
from tests.conftest import gid, make_provider, make_thread, make_user
from tests.subscriptions.support import until

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { body } }
"""


async def listener(channel: str, received: list, ready: asyncio.Event | None = None):
    async with broker.listen(channel) as events:
        if ready is not None:
            ready.set()
        async for event in events:
            received.append(event)


async def listening(channel: str, timeout: float = 5) -> tuple[list, asyncio.Task]:
    """A listener on channel, once it is listening: what it hears, and its task."""
    received: list = []
    ready = asyncio.Event()
    task = asyncio.create_task(listener(channel, received, ready))
    await asyncio.wait_for(ready.wait(), timeout)
    return received, task


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def only_resyncs(events: list) -> bool:
    return bool(events) and all(e == {"kind": "resync"} for e in events)


async def resynced(broadcast, received: list) -> None:
    """Until every resync owed has gone out and the listener heard one."""
    await until(lambda: not broadcast.backend.owed_resyncs, timeout=10)
    await until(lambda: only_resyncs(received), timeout=10)


async def test_a_publish_lost_while_redis_stalls_is_followed_by_a_resync(
    own_redis_broker, redis_server, caplog
):
    # given a listener, and Redis hung (its connections stay open)
    received, task = await listening("test:stall")
    reconnects = redis_backend.reconnects_total
    redis_server.pause()

    # when two events are published into the stall
    try:
        with caplog.at_level(logging.WARNING, logger="subscriptions.broker"):
            await broker.publish("test:stall", {"kind": "lost"})
            started = asyncio.get_running_loop().time()
            await broker.publish("test:stall", {"kind": "lost too"})
            second_took = asyncio.get_running_loop().time() - started
    finally:
        redis_server.resume()

    # then the second failed at once, and once Redis answers the listener is
    # told to resync, though its connection never dropped
    assert second_took < 0.2
    assert caplog.text.count("Publish failed channel=test:stall") == 2
    await resynced(own_redis_broker, received)
    assert redis_backend.reconnects_total == reconnects
    await broker.publish("test:stall", {"kind": "after"})
    await until(lambda: received[-1:] == [{"kind": "after"}])
    await stop([task])


async def test_many_first_subscribers_of_a_channel_all_hear_it():
    # given 50 subscribers joining a fresh channel at the same moment
    before = broker.subscription_count()
    inboxes: list[list] = [[] for _ in range(50)]
    tasks = [asyncio.create_task(listener("test:many", inbox)) for inbox in inboxes]
    await until(lambda: broker.subscription_count() == before + 50)

    # when one event is published
    await broker.publish("test:many", {"kind": "ping"})

    # then every one receives it, and all leave cleanly
    await until(lambda: all(inboxes))
    assert [len(inbox) for inbox in inboxes] == [1] * 50
    await stop(tasks)
    assert broker.subscription_count() == before
    assert all(not t.exception() for t in tasks if not t.cancelled())


async def test_a_subscriber_leaving_does_not_deafen_the_others():
    before = broker.subscription_count()
    staying: list = []
    stay = asyncio.create_task(listener("test:leave", staying))
    leave = asyncio.create_task(listener("test:leave", []))
    await until(lambda: broker.subscription_count() == before + 2)

    await stop([leave])
    await broker.publish("test:leave", {"kind": "ping"})

    await until(lambda: staying)
    await stop([stay])


async def test_publishing_inside_a_transaction_is_refused_and_rolls_back():
    # Subscribers would load the state from before the commit.
    with pytest.raises(AssertionError, match="after the commit"):
        async with in_transaction():
            await models.User.filter(id=-1).update(name="x")
            await broker.publish("test:tx", {"kind": "ping"})


async def test_a_broken_publish_is_a_warning_never_an_error(monkeypatch, caplog):
    async def down(events) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(broker.get_broadcast(), "publish_many", down)

    with caplog.at_level(logging.WARNING, logger="subscriptions.broker"):
        await broker.publish("test:down", {"kind": "ping"})

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "channel=test:down" in record.getMessage()


# Our own redis-server from here on: these restart it.


async def test_subscribe_returns_once_redis_has_confirmed_it(
    own_redis_broker, redis_server
):
    ready = asyncio.Event()
    task = asyncio.create_task(listener("test:confirmed", [], ready))

    await asyncio.wait_for(ready.wait(), 5)

    # No waiting: the SUBSCRIBE is already in force.
    assert redis_server.numsub("test:confirmed") == 1
    await stop([task])


async def test_the_last_subscriber_leaving_unsubscribes_from_redis(
    own_redis_broker, redis_server
):
    ready = [asyncio.Event() for _ in range(3)]
    tasks = [asyncio.create_task(listener("test:unsub", [], event)) for event in ready]
    for event in ready:
        await asyncio.wait_for(event.wait(), 5)
    assert redis_server.numsub("test:unsub") == 1

    await stop(tasks[:2])
    await asyncio.sleep(0.05)
    assert redis_server.numsub("test:unsub") == 1
    await stop(tasks[2:])

    await until(lambda: redis_server.numsub("test:unsub") == 0, timeout=2)
    assert own_redis_broker.backend.channels == frozenset()


async def test_a_redis_restart_is_followed_by_a_resync_and_live_events(
    own_redis_broker, redis_server
):
    # given a listener
    received, task = await listening("test:restart")
    reconnects = redis_backend.reconnects_total

    # when Redis goes away, a publish is attempted, and Redis comes back
    redis_server.stop()
    await until(lambda: not own_redis_broker.backend.is_connected)
    assert not await broker.is_healthy()
    await broker.publish("test:restart", {"kind": "lost"})
    redis_server.start()
    await until(broker.is_healthy, timeout=10)

    # then the listener is told to resync (by its reconnection, and for the
    # lost publish), and hears what follows
    await resynced(own_redis_broker, received)
    assert redis_backend.reconnects_total == reconnects + 1
    assert redis_server.numsub("test:restart") == 1
    await broker.publish("test:restart", {"kind": "after"})
    await until(lambda: received[-1:] == [{"kind": "after"}])
    assert only_resyncs(received[:-1])
    await stop([task])


async def test_a_silently_dropped_connection_is_noticed_and_resynced(
    own_redis_broker, redis_server
):
    received, task = await listening("test:dropped")

    await own_redis_broker.backend.drop_connection()

    await until(lambda: received == [{"kind": "resync"}])
    await broker.publish("test:dropped", {"kind": "after"})
    await until(lambda: received[-1:] == [{"kind": "after"}])
    await stop([task])


async def test_during_an_outage_publish_fails_fast_and_subscribe_waits_for_redis(
    own_redis_broker, redis_server, caplog
):
    # given Redis is gone
    redis_server.stop()
    await until(lambda: not own_redis_broker.backend.is_connected)

    # when someone publishes and someone subscribes
    with caplog.at_level(logging.WARNING, logger="subscriptions.broker"):
        await asyncio.wait_for(broker.publish("test:outage", {"kind": "x"}), 2)
    received, task = await listening("test:outage", timeout=2)

    # then the publish was logged and dropped, and the subscriber is resynced
    # and live once Redis is back
    assert "Publish failed channel=test:outage" in caplog.text
    redis_server.start()
    await resynced(own_redis_broker, received)
    assert redis_server.numsub("test:outage") == 1
    await broker.publish("test:outage", {"kind": "live"})
    await until(lambda: received[-1:] == [{"kind": "live"}])
    await stop([task])


async def test_a_broker_that_starts_without_redis_connects_when_it_appears(
    redis_server,
):
    redis_server.stop()
    backend = redis_backend.RedisPubSubBackend(
        redis_server.url, backoff_max=0.2, start_timeout=0.2
    )
    broadcast = broker.RapportBroadcast(backend)
    await broadcast.connect()
    try:
        assert not await redis_backend.backend_is_healthy(broadcast)

        redis_server.start()

        await until(lambda: redis_backend.backend_is_healthy(broadcast), timeout=10)
    finally:
        await broadcast.disconnect()


async def test_mutations_commit_while_redis_is_down(
    own_redis_broker, redis_server, execute
):
    # given a thread, and Redis gone
    client = await make_user()
    thread = await make_thread(client, await make_provider())
    redis_server.stop()
    await until(lambda: not own_redis_broker.backend.is_connected)

    # when a message is sent
    result = await execute(
        SEND,
        {"input": {"threadId": gid("MessageThread", thread.id), "body": "still here"}},
        client,
    )

    # then it is answered and stored; only its announcement was lost
    assert result.errors == []
    assert result.data["sendMessage"]["body"] == "still here"
    assert await models.Message.filter(thread_id=thread.id).count() == 1


async def test_the_events_of_one_change_go_out_in_one_round_trip(
    own_redis_broker, monkeypatch
):
    # given a listener for a client's schedule, and a count of round trips
    from types import SimpleNamespace

    from subscriptions.channels import user_channel
    from subscriptions.events import announce_appointments

    publisher = own_redis_broker.backend._publisher
    real_pipeline = publisher.pipeline
    trips = []

    def counting_pipeline(*args, **kwargs):
        trips.append(1)
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(publisher, "pipeline", counting_pipeline)
    received, task = await listening(user_channel(7))

    # when three appointments of a series are cancelled
    series = [SimpleNamespace(id=n, client_id=7) for n in (1, 2, 3)]
    await announce_appointments("CANCELLED", series, 8, availability_of=9)

    # then all seven events went in one pipeline, and the client heard three
    await until(lambda: len(received) == 3)
    assert trips == [1]
    assert [e["appointment_id"] for e in received] == [1, 2, 3]
    await stop([task])
