"""Two server processes, one PostgreSQL, one Redis: what one commits, the
other's subscribers hear (CASES.md 12), races are won once, and a Redis
restart loses nothing. Subscriptions go through the `gql` client."""

import asyncio
import contextlib
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.e2e.cluster import Cluster
from tests.e2e.conftest import Practice
from tests.subscriptions.support import LEGACY_WS, TRANSPORT_WS, WsClient, until

MESSAGE_ADDED = """
subscription Added($threadId: ID!, $after: String) {
  messageAdded(threadId: $threadId, after: $after) { body cursor }
}
"""

SCHEDULE = "subscription { scheduleChanged { type appointment { id } } }"

AVAILABILITY = """
subscription Open($id: ID!) { availabilityChanged(providerId: $id) { id } }
"""

THREAD = """
query Thread($id: ID!) { thread(id: $id) { messages { edges { node { body } } } } }
"""

SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) { availableSlots(from: $from, to: $to) { startsAt } }
}
"""

BOOK = """
mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }
"""

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id } }
"""


class Subscription:
    """A gql websocket subscription pumping (arrival time, data) into a queue."""

    def __init__(
        self,
        url: str,
        token: str | None,
        query: str,
        variables: dict[str, Any],
        protocol: str = TRANSPORT_WS,
    ) -> None:
        init = {"authorization": f"Bearer {token}"} if token else {}
        self.transport = WebsocketsTransport(
            url=url, init_payload=init, subprotocols=[protocol]
        )
        self.request = GraphQLRequest(query, variable_values=variables)
        self.results: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async with Client(transport=self.transport) as session:
                async for data in session.subscribe(self.request):
                    await self.results.put((time.perf_counter(), data))
        except Exception as error:  # handed to the reader
            await self.results.put((time.perf_counter(), error))

    async def next(self, timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        at, item = await asyncio.wait_for(self.results.get(), timeout)
        if isinstance(item, Exception):
            raise item
        return at, item

    async def bodies(self, count: int) -> list[str]:
        return [(await self.next())[1]["messageAdded"]["body"] for _ in range(count)]

    async def nothing_more(self, settle: float = 0.5) -> bool:
        await asyncio.sleep(settle)
        return self.results.empty()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def subscription(*args: Any, **kwargs: Any):
    running = Subscription(*args, **kwargs)
    try:
        yield running
    finally:
        await running.close()


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_message_sent_through_one_process_reaches_a_subscriber_of_the_other(
    practice: Practice, protocol: str, capsys
):
    # given a provider subscribed on server 1 after the last message
    pair = await practice.new_pair()
    cursor = await practice.send(1, pair.client, pair.thread_id, "first")
    async with subscription(
        practice.cluster.servers[0].ws,
        pair.provider.token,
        MESSAGE_ADDED,
        {"threadId": pair.thread_id, "after": cursor},
        protocol,
    ) as sub:
        await practice.send(1, pair.client, pair.thread_id, "probe")
        assert await sub.bodies(1) == ["probe"]

        # when the client sends through server 2
        started = time.perf_counter()
        await practice.send(1, pair.client, pair.thread_id, "across")
        arrived, data = await sub.next()

    # then it arrives on server 1
    assert data["messageAdded"]["body"] == "across"
    with capsys.disabled():
        print(f"\n[e2e] gql over {protocol}: {1000 * (arrived - started):.1f} ms")


async def test_resubscribing_with_the_last_cursor_yields_exactly_what_was_missed(
    practice: Practice,
):
    # given a subscriber that saw a message, then dropped
    pair = await practice.new_pair()
    before = await practice.send(1, pair.client, pair.thread_id, "before")
    async with subscription(
        practice.cluster.servers[0].ws,
        pair.provider.token,
        MESSAGE_ADDED,
        {"threadId": pair.thread_id, "after": before},
    ) as sub:
        await practice.send(1, pair.client, pair.thread_id, "seen")
        _, data = await sub.next()
        last_seen = data["messageAdded"]["cursor"]

    # when three are sent while it is away
    for body in ("missed 1", "missed 2", "missed 3"):
        await practice.send(1, pair.client, pair.thread_id, body)

    # then resubscribing (on the other process) from its last cursor yields
    # exactly those three, in order, then live ones
    async with subscription(
        practice.cluster.servers[1].ws,
        pair.provider.token,
        MESSAGE_ADDED,
        {"threadId": pair.thread_id, "after": last_seen},
    ) as again:
        assert await again.bodies(3) == ["missed 1", "missed 2", "missed 3"]
        await practice.send(0, pair.client, pair.thread_id, "live")
        assert await again.bodies(1) == ["live"]
        assert await again.nothing_more()


async def test_a_third_user_can_neither_read_write_nor_subscribe(practice: Practice):
    # given a thread, and an outsider with a connection of their own
    pair = await practice.new_pair()
    cluster = practice.cluster
    await practice.send(1, pair.client, pair.thread_id, "private")
    outsider_token, _ = await cluster.sign_up(0)

    # when they try to read, write and subscribe
    read = await cluster.call(0, THREAD, {"id": pair.thread_id}, outsider_token)
    write = await cluster.call(
        1,
        "mutation S($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
        {"i": {"threadId": pair.thread_id, "body": "let me in"}},
        outsider_token,
    )
    with pytest.raises(TransportQueryError) as refused:
        async with subscription(
            cluster.servers[0].ws,
            outsider_token,
            MESSAGE_ADDED,
            {"threadId": pair.thread_id, "after": None},
        ) as sub:
            await sub.next()
    socket = await WsClient.open(cluster.servers[0].ws)
    await socket.init(outsider_token)
    await socket.subscribe("inbox", "subscription { inboxUpdated { id } }")
    await socket.subscribe("thread", MESSAGE_ADDED, {"threadId": pair.thread_id})
    refusal = await socket.receive()
    await practice.send(1, pair.client, pair.thread_id, "still private")
    await practice.send(0, pair.provider, pair.thread_id, "reply")

    # then FORBIDDEN every time, and their connection carries none of it
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert write["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert (refusal["type"], refusal["id"]) == ("error", "thread")
    with pytest.raises(asyncio.TimeoutError):
        await socket.receive(timeout=1.0)
    await socket.close()
    stored = await count_rows(cluster, "SELECT count(*) FROM messages")
    assert stored >= 3


async def test_thirty_bookings_of_one_slot_across_both_processes_one_wins(
    practice: Practice,
):
    # given thirty new clients, and the provider watching on server 1
    cluster = practice.cluster
    clients = await asyncio.gather(*(cluster.sign_up(n % 2) for n in range(30)))
    day = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT00:00:00Z")
    slots = await cluster.call(
        0,
        SLOTS,
        {"id": practice.provider_id, "from": day, "to": day.replace("T00", "T23")},
    )
    starts_at = slots["data"]["provider"]["availableSlots"][20]["startsAt"]
    async with (
        subscription(
            cluster.servers[0].ws, practice.provider.token, SCHEDULE, {}
        ) as sched,
        subscription(
            cluster.servers[1].ws, None, AVAILABILITY, {"id": practice.provider_id}
        ) as open_times,
    ):
        await asyncio.sleep(0.5)  # both listening (no ack exists for that)

        # when they all book it at once, half through each process
        variables = {
            "input": {
                "providerId": practice.provider_id,
                "startsAt": starts_at,
                "format": "PHONE",
            }
        }
        results = await asyncio.gather(
            *(
                cluster.call(n % 2, BOOK, variables, token)
                for n, (token, _) in enumerate(clients)
            )
        )

        # then exactly one wins, one appointment exists, one event goes out
        codes = sorted(
            r["errors"][0]["extensions"]["code"] if "errors" in r else "OK"
            for r in results
        )
        assert codes == ["OK"] + ["SLOT_UNAVAILABLE"] * 29
        stored = await count_rows(
            cluster,
            "SELECT count(*) FROM appointments WHERE starts_at = $1 "
            "AND status = 'BOOKED'",
            datetime.fromisoformat(starts_at.replace("Z", "+00:00")),
        )
        assert stored == 1
        _, event = await sched.next()
        assert event["scheduleChanged"]["type"] == "BOOKED"
        assert await sched.nothing_more(1.0)
        _, changed = await open_times.next()
        assert changed["availabilityChanged"]["id"] == practice.provider_id


async def test_a_redis_restart_under_a_live_subscription_loses_nothing(
    practice: Practice,
):
    # given a live subscriber on server 1
    cluster = practice.cluster
    pair = await practice.new_pair()
    cursor = await practice.send(1, pair.client, pair.thread_id, "before")
    async with subscription(
        cluster.servers[0].ws,
        pair.provider.token,
        MESSAGE_ADDED,
        {"threadId": pair.thread_id, "after": cursor},
    ) as sub:
        await practice.send(1, pair.client, pair.thread_id, "live before")
        assert await sub.bodies(1) == ["live before"]

        # when Redis stops, three messages commit through server 2, and it returns
        cluster.redis.stop()
        await until(lambda: all(s.readyz() == 503 for s in cluster.servers), 10)
        for body in ("down 1", "down 2", "down 3"):
            await practice.send(1, pair.client, pair.thread_id, body)
        cluster.redis.start()
        await until(lambda: all(s.readyz() == 200 for s in cluster.servers), 15)
        await practice.send(1, pair.client, pair.thread_id, "live after")

        # then the same subscription gets all four, in order, once
        assert await sub.bodies(4) == ["down 1", "down 2", "down 3", "live after"]
        assert await sub.nothing_more()
    assert all(s.process.poll() is None for s in cluster.servers)


async def test_delivery_latency_across_processes(practice: Practice, capsys):
    # given a live subscriber on server 1, and a kept-alive HTTP client on 2
    pair = await practice.new_pair()
    cursor = await practice.send(1, pair.client, pair.thread_id, "start")
    server_2 = practice.cluster.servers[1]
    headers = {"Authorization": f"Bearer {pair.client.token}"}
    delivered, answered = [], []
    async with (
        httpx.AsyncClient(base_url=server_2.http, headers=headers) as http,
        subscription(
            practice.cluster.servers[0].ws,
            pair.provider.token,
            MESSAGE_ADDED,
            {"threadId": pair.thread_id, "after": cursor},
        ) as sub,
    ):
        await practice.send(1, pair.client, pair.thread_id, "warm up")
        await sub.next()

        # when 100 messages go through server 2, one after another
        for n in range(100):
            variables = {"input": {"threadId": pair.thread_id, "body": f"m{n}"}}
            started = time.perf_counter()
            response = await http.post(
                "/graphql", json={"query": SEND, "variables": variables}
            )
            answered.append(time.perf_counter() - started)
            arrived, data = await sub.next()
            assert "errors" not in response.json()
            assert data["messageAdded"]["body"] == f"m{n}"
            delivered.append(arrived - started)

    # then all arrived in order; the numbers are measured, not asserted
    with capsys.disabled():
        print(
            "\n[e2e] 100 messages, sendMessage on server 2 to messageAdded on "
            f"server 1: median {ms(statistics.median(delivered))}, worst "
            f"{ms(max(delivered))} (the mutation's own round trip: median "
            f"{ms(statistics.median(answered))}, worst {ms(max(answered))})"
        )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def count_rows(cluster: Cluster, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(cluster.database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
