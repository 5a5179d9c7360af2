"""Target 4: websocket fan-out through Redis, against a bare relay in the same run.

Clients connect to one server process and subscribe; senders post messages over
HTTP to a second process; Redis carries them across. Latency is taken from the
message's stored sent_at (microseconds, set just before its transaction) to the
moment the client reads it, the same way on both sides.
"""

import asyncio
import gc
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from bench import profile
from bench.baseline import global_id
from bench.config import BenchConfig
from bench.load import Connection, http_request, percentile
from bench.report import Target, at_most, median
from bench.seed import World
from bench.services import Server, rss_kb
from subscriptions.channels import thread_channel, user_channel

MESSAGE_ADDED = """
subscription Messages($threadId: ID!) {
  messageAdded(threadId: $threadId) { id body clientMessageId sentAt }
}
"""
INBOX_UPDATED = "subscription { inboxUpdated { id unreadCount } }"
SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id } }
"""
CONNECT_CONCURRENCY = 50
SENDER_CONNECTIONS = 32


@dataclass
class Inbox:
    """What the clients of one side received: message id -> receive time."""

    received: dict[str, float] = field(default_factory=dict)
    inbox_events: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def got_message(self, client_message_id: str) -> None:
        if client_message_id in self.received:
            self.duplicates += 1
        else:
            self.received[client_message_id] = time.time()


class Side:
    """One side of the comparison: where clients connect and where senders post."""

    def __init__(self, name: str, ws: Server, http: Server, bare: bool) -> None:
        self.name = name
        self.ws = ws
        self.http = http
        self.bare = bare
        self.inbox = Inbox()
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task] = []

    async def connect_all(self, world: World, threads: list) -> None:
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(thread: tuple[int, int, int, int]) -> None:
            async with limit:
                socket = await self._open(world, thread)
                self.sockets.append(socket)
                self.readers.append(asyncio.create_task(self._read(socket)))

        await asyncio.gather(*(one(t) for t in threads))

    async def _open(
        self, world: World, thread: tuple[int, int, int, int]
    ) -> ClientConnection:
        thread_id, client_id, _, _ = thread
        if self.bare:
            socket = await connect(
                f"ws://127.0.0.1:{self.ws.port}/relay",
                ping_interval=None,
                open_timeout=60,
            )
            await socket.send(
                orjson.dumps({"thread": thread_id, "user": client_id}).decode()
            )
            await socket.recv()  # ready: subscribed on Redis
            return socket
        socket = await connect(
            f"ws://127.0.0.1:{self.ws.port}/graphql",
            subprotocols=["graphql-transport-ws"],
            ping_interval=None,
            open_timeout=60,
        )
        init = {
            "type": "connection_init",
            "payload": {"authorization": f"Bearer {world.tokens[client_id]}"},
        }
        await socket.send(orjson.dumps(init).decode())
        ack = orjson.loads(await socket.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"expected connection_ack, got {ack}")
        for sub_id, query, variables in (
            ("m", MESSAGE_ADDED, {"threadId": global_id("MessageThread", thread_id)}),
            ("i", INBOX_UPDATED, {}),
        ):
            message = {
                "id": sub_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
            await socket.send(orjson.dumps(message).decode())
        return socket

    async def _read(self, socket: ClientConnection) -> None:
        inbox = self.inbox
        try:
            async for raw in socket:
                message = orjson.loads(raw)
                if self.bare:
                    data = message.get("data")
                    if data is None:
                        continue
                else:
                    kind = message.get("type")
                    if kind == "ping":
                        await socket.send('{"type":"pong"}')
                        continue
                    if kind != "next":
                        if kind in ("error", "complete"):
                            inbox.errors.append(raw[:200])
                        continue
                    payload = message["payload"]
                    if payload.get("errors"):
                        inbox.errors.append(raw[:200])
                        continue
                    data = payload["data"]
                if "messageAdded" in data:
                    inbox.got_message(data["messageAdded"]["clientMessageId"])
                else:
                    inbox.inbox_events += 1
        except Exception as error:  # a dropped socket is reported, not raised
            inbox.errors.append(repr(error)[:200])

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def wait_subscribed(
    redis_url: str, channels: list[str], timeout: float = 120
) -> bool:
    """True once Redis reports a subscriber on every channel."""
    client = aioredis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            missing = 0
            for start in range(0, len(channels), 500):
                counts = await client.pubsub_numsub(*channels[start : start + 500])
                missing += sum(1 for _, n in counts if n == 0)
            if not missing:
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await client.aclose()


async def send_messages(
    side: Side, world: World, threads: list, tag: str, config: BenchConfig
) -> tuple[list[str], int]:
    """Open loop at the configured rate; returns the ids sent and failures."""
    total = int(config.message_rate * config.message_seconds)
    conns: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(SENDER_CONNECTIONS):
        conns.put_nowait(await Connection(side.http.port).open())
    sent: list[str] = []
    failures = 0

    async def one(k: int) -> None:
        nonlocal failures
        thread_id, client_id, _, provider_user = threads[k % len(threads)]
        message_id = f"{tag}-{k}"
        if side.bare:
            request = http_request(
                "/send",
                {
                    "thread_id": thread_id,
                    "sender_id": provider_user,
                    "body": "hello",
                    "client_message_id": message_id,
                },
                port=side.http.port,
            )
        else:
            request = http_request(
                "/graphql",
                {
                    "query": SEND,
                    "variables": {
                        "input": {
                            "threadId": global_id("MessageThread", thread_id),
                            "body": "hello",
                            "clientMessageId": message_id,
                        }
                    },
                },
                port=side.http.port,
                headers={"authorization": f"Bearer {world.tokens[provider_user]}"},
            )
        conn = await conns.get()
        try:
            status, body = await conn.send(request)
        finally:
            conns.put_nowait(conn)
        if status == 200 and b'"errors"' not in body:
            sent.append(message_id)
        else:
            failures += 1
            if failures <= 3:
                print(f"  send failed: {status} {body[:200]!r}")

    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for k in range(total):
        delay = start + k / config.message_rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.gather(*tasks)
    while not conns.empty():
        conns.get_nowait().close()
    return sent, failures


async def sent_times(database_url: str, tag: str) -> dict[str, float]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT client_message_id, sent_at FROM messages WHERE client_message_id LIKE $1",
            f"{tag}-%",
        )
    finally:
        await conn.close()
    return {r["client_message_id"]: r["sent_at"].timestamp() for r in rows}


async def run_round(
    side: Side,
    world: World,
    threads: list,
    tag: str,
    config: BenchConfig,
    database_url: str,
) -> dict:
    before = len(side.inbox.received)
    inbox_before = side.inbox.inbox_events
    sent, failures = await send_messages(side, world, threads, tag, config)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(
            m in side.inbox.received for m in sent
        ) and side.inbox.inbox_events - inbox_before >= len(sent):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    stored = await sent_times(database_url, tag)
    latencies = [
        side.inbox.received[m] - stored[m]
        for m in sent
        if m in side.inbox.received and m in stored
    ]
    lost = sum(1 for m in sent if m not in side.inbox.received)
    return {
        "sent": len(sent),
        "failures": failures,
        "lost": lost,
        "inbox_lost": len(sent) - (side.inbox.inbox_events - inbox_before),
        "received": len(side.inbox.received) - before,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
    }


async def realtime_targets(
    config: BenchConfig,
    world: World,
    rapport: Side,
    bare: Side,
    redis_url: str,
    database_url: str,
    log,
    profiles: list[str],
) -> list[Target]:
    n = config.ws_clients
    ours_threads = world.threads[:n]
    bare_threads = world.bare_threads[:n]
    log(f"target 4: connecting {n} websocket clients to each side")
    base = {s.name: rss_kb(s.ws.pid) for s in (rapport, bare)}
    started = time.perf_counter()
    await rapport.connect_all(world, ours_threads)
    ok = await wait_subscribed(
        redis_url,
        [thread_channel(t[0]) for t in ours_threads]
        + [user_channel(t[1]) for t in ours_threads],
    )
    log(
        f"  rapport: {n} connected and subscribed={ok} in {time.perf_counter() - started:.1f}s"
    )
    started = time.perf_counter()
    await bare.connect_all(world, bare_threads)
    log(f"  bare: {n} connected in {time.perf_counter() - started:.1f}s")
    # The bench's own collector would pause its readers; both sides alike, but
    # it is the servers that are measured.
    gc.collect()
    gc.freeze()
    await asyncio.sleep(1)
    per_client = {
        s.name: (rss_kb(s.ws.pid) - base[s.name]) / n for s in (rapport, bare)
    }

    results: dict[str, list[dict]] = {"rapport": [], "bare": []}
    for round_no in range(config.ws_rounds):
        order = [(rapport, ours_threads), (bare, bare_threads)]
        if round_no % 2:
            order.reverse()
        for side, threads in order:
            tag = f"{side.name[0]}{round_no}-{int(time.time())}"
            result = await run_round(side, world, threads, tag, config, database_url)
            results[side.name].append(result)
            log(
                f"  round {round_no + 1} {side.name}: sent {result['sent']} "
                f"(failed {result['failures']}), lost {result['lost']}, inbox lost "
                f"{result['inbox_lost']}, p50 {1000 * result['p50']:.1f} ms, "
                f"p99 {1000 * result['p99']:.1f} ms, max {1000 * result['max']:.1f} ms"
            )
    per_client_after = {
        s.name: (rss_kb(s.ws.pid) - base[s.name]) / n for s in (rapport, bare)
    }
    errors = rapport.inbox.errors[:3]

    ours = median([r["p99"] for r in results["rapport"]])
    theirs = median([r["p99"] for r in results["bare"]])
    lost = sum(r["lost"] + r["inbox_lost"] + r["failures"] for r in results["rapport"])
    ratio = ours / theirs
    notes = [
        f"{n} clients x 2 subscriptions, {config.message_rate:.0f} msg/s for "
        f"{config.message_seconds:.0f}s from {min(n, config.ws_senders)} senders, "
        f"{config.ws_rounds} rounds; p50 rapport "
        f"{1000 * median([r['p50'] for r in results['rapport']]):.1f} ms, bare "
        f"{1000 * median([r['p50'] for r in results['bare']]):.1f} ms; lost or failed: {lost}"
    ]
    if rapport.inbox.duplicates:
        notes.append(f"{rapport.inbox.duplicates} duplicate messageAdded deliveries")
    if errors:
        notes.append(f"client errors: {errors}")
    t4a = Target(
        "4a",
        "commit-to-receive p99",
        f"{1000 * ours:.1f} ms",
        f"bare relay {1000 * theirs:.1f} ms",
        ratio,
        "≤ 3.00",
        at_most(ratio, 3.0) and lost == 0 and not rapport.inbox.duplicates,
        notes,
    )
    kb = max(per_client[rapport.name], per_client_after[rapport.name])
    t4b = Target(
        "4b",
        "memory per connected client",
        f"{kb:.0f} KB",
        f"bare {max(per_client[bare.name], per_client_after[bare.name]):.0f} KB",
        None,
        "≤ 100 KB",
        kb <= 100,
        [
            f"RSS growth of the websocket process / {n} clients (after connect; after traffic)"
        ],
    )
    if not t4a.met and config.profile:
        profiles += await _profile_round(
            rapport, world, ours_threads, config, database_url
        )
    await rapport.close()
    await bare.close()
    gc.unfreeze()
    return [t4a, t4b]


async def _profile_round(
    side: Side, world: World, threads: list, config: BenchConfig, database_url: str
) -> list[str]:
    """One more round while py-spy samples the websocket and the HTTP process."""
    seconds = max(4.0, config.message_seconds)

    async def traffic() -> None:
        await run_round(
            side, world, threads, f"p-{int(time.time())}", config, database_url
        )

    async def with_http_sampled() -> None:
        paths["http"] = await profile.record(
            side.http.pid, seconds, "realtime-http", traffic
        )

    paths: dict[str, Any] = {}
    paths["ws"] = await profile.record(
        side.ws.pid, seconds, "realtime-ws", with_http_sampled
    )
    lines: list[str] = []
    for key, title in (
        ("ws", "[4a] the websocket process (subscriptions) while messages flow"),
        ("http", "[4a] the HTTP process (sendMessage) while messages flow"),
    ):
        if paths.get(key) is None:
            lines += ["", f"{title}: py-spy unavailable"]
        else:
            lines += ["", f"{title} (py-spy, bench/out/{paths[key].name}):"]
            lines += profile.summarise(paths[key])
    return lines
