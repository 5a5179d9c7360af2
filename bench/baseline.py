"""The bare baselines: plain Starlette + asyncpg (+ redis-py), no GraphQL, no ORM.

Each endpoint does the data work of a Rapport operation by hand and answers the
same JSON, so the bench can compare like with like:

- POST /directory: the directory page (target 1), open times from the same pure
  engine Rapport uses (resolvers.availability_engine.iter_open_slots);
- POST /book: one INSERT of the row bookAppointment would store (target 3);
- POST /send and websocket /relay: a message stored, published on Redis and
  relayed to subscribers (target 4).

Run with `uvicorn bench.baseline:app`; DATABASE_URL and REDIS_URL configure it.
"""

import asyncio
import base64
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from resolvers.availability_engine import MAX_BUFFER, Window, iter_open_slots

PHONE = ("PHONE",)
POOL_SIZE = 5  # Tortoise's default pool maximum, so both sides get the same

LIST_SQL = """
SELECT p.id, p.name, p.credentials, p.specialties, p.formats, p.first_appointment,
       p.intro_call_minutes, p.session_minutes, p.timezone, p.slot_step_minutes,
       p.buffer_minutes, p.minimum_notice_hours, p.booking_horizon_days,
       p.accepting_new_clients
FROM providers p
WHERE p.id IN (SELECT provider_id FROM provider_tags
               WHERE kind = 'state' AND folded = $1)
  AND p.id IN (SELECT providers_id FROM provider_plans WHERE insuranceplan_id = $2)
ORDER BY p.name, p.id
LIMIT $3
"""
PLANS_SQL = """
SELECT pp.providers_id, ip.name, ip.payer
FROM provider_plans pp JOIN insurance_plans ip ON ip.id = pp.insuranceplan_id
WHERE pp.providers_id = ANY($1::int[])
ORDER BY ip.payer, ip.name
"""
OFFICES_SQL = """
SELECT provider_id, label, address, state FROM offices
WHERE provider_id = ANY($1::int[]) ORDER BY position, id
"""
WINDOWS_SQL = """
SELECT provider_id, weekday, start_minute, end_minute, formats
FROM availability_windows WHERE provider_id = ANY($1::int[])
ORDER BY weekday, start_minute
"""
# Appointments' own spans; the engine keeps the buffer around them.
BUSY_SQL = """
SELECT provider_id, starts_at, ends_at FROM appointments
WHERE provider_id = ANY($1::int[]) AND status = 'BOOKED' AND ends_at > $2
"""
TIME_OFF_SQL = """
SELECT provider_id, starts_at, ends_at FROM time_off
WHERE provider_id = ANY($1::int[]) AND ends_at > $2
"""
INSERT_SQL = """
INSERT INTO appointments (provider_id, client_id, kind, format, status, starts_at,
    ends_at, blocked_until, duration_minutes, cancelled_late, created_at)
VALUES ($1, $2, $3, $4, 'BOOKED', $5, $6, $7, $8, false, $9)
RETURNING id
"""
NEXT_SEQ_SQL = """
UPDATE message_threads SET last_seq = last_seq + 1, last_activity_at = $2,
    provider_read_seq = CASE WHEN client_id = $3
                             THEN provider_read_seq ELSE last_seq + 1 END,
    client_read_seq = CASE WHEN client_id = $3
                           THEN last_seq + 1 ELSE client_read_seq END
WHERE id = $1
RETURNING last_seq, client_id, provider_id, client_read_seq
"""
INSERT_MESSAGE_SQL = """
INSERT INTO messages (thread_id, seq, sender_id, body, client_message_id, sent_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
"""
PROVIDER_USER_SQL = "SELECT user_id FROM providers WHERE id = $1"

_pool: asyncpg.Pool | None = None
_redis: aioredis.Redis | None = None
_relay: "Relay | None" = None


def global_id(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _grouped(rows: list, key: str = "provider_id") -> dict[int, list]:
    groups: dict[int, list] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return groups


def _next_slot(
    row: asyncpg.Record, windows: list, busy: list, time_off: list, now: datetime
) -> dict | None:
    """What Rapport's nextAvailableSlot computes, through the same engine."""
    if not row["accepting_new_clients"]:
        return None  # nothing is bookable, so nothing is open
    formats = tuple(orjson.loads(row["formats"]))
    if row["first_appointment"] == "INTRO_CALL":
        duration, offer_formats, intro = row["intro_call_minutes"], PHONE, True
    else:
        duration, offer_formats, intro = row["session_minutes"], formats, False
    engine_windows = []
    for w in windows:
        if intro:
            allowed = PHONE
        elif w["formats"]:
            own = orjson.loads(w["formats"])
            allowed = tuple(f for f in offer_formats if f in own)
        else:
            allowed = offer_formats
        if allowed:
            engine_windows.append(
                Window(w["weekday"], w["start_minute"], w["end_minute"], allowed)
            )
    slots = iter_open_slots(
        windows=engine_windows,
        timezone=row["timezone"],
        duration_minutes=duration,
        step_minutes=row["slot_step_minutes"],
        buffer_minutes=row["buffer_minutes"],
        busy=[(b["starts_at"], b["ends_at"]) for b in busy],
        time_off=[(t["starts_at"], t["ends_at"]) for t in time_off],
        now=now,
        minimum_notice_hours=row["minimum_notice_hours"],
        booking_horizon_days=row["booking_horizon_days"],
        range_start=now,
        range_end=datetime.max.replace(tzinfo=UTC),
    )
    found = next(slots, None)
    if found is None:
        return None
    return {
        "startsAt": instant(found.starts_at),
        "endsAt": instant(found.ends_at),
        "formats": list(found.formats),
    }


async def directory(request: Request) -> Response:
    body = orjson.loads(await request.body())
    variables = body["variables"]
    state = variables["state"].strip().casefold()
    plan = int(base64.b64decode(variables["plan"]).decode().partition(":")[2])
    first = min(int(variables.get("first", 20)), 100)
    now = datetime.now(UTC)
    async with _pool.acquire() as conn:
        rows = await conn.fetch(LIST_SQL, state, plan, first + 1)
        page = rows[:first]
        ids = [r["id"] for r in page]
        plans = _grouped(await conn.fetch(PLANS_SQL, ids), "providers_id")
        offices = _grouped(await conn.fetch(OFFICES_SQL, ids))
        windows = _grouped(await conn.fetch(WINDOWS_SQL, ids))
        busy = _grouped(await conn.fetch(BUSY_SQL, ids, now - MAX_BUFFER))
        time_off = _grouped(await conn.fetch(TIME_OFF_SQL, ids, now))
    edges = []
    for row in page:
        pid = row["id"]
        node = {
            "id": global_id("Provider", pid),
            "name": row["name"],
            "credentials": row["credentials"],
            "specialties": orjson.loads(row["specialties"]),
            "insurancePlans": [
                {"name": p["name"], "payer": p["payer"]} for p in plans.get(pid, ())
            ],
            "offices": [
                {"label": o["label"], "address": o["address"], "state": o["state"]}
                for o in offices.get(pid, ())
            ],
            "nextAvailableSlot": _next_slot(
                row, windows.get(pid, []), busy.get(pid, []), time_off.get(pid, []), now
            ),
        }
        edges.append({"node": node})
    end = cursor("p", page[-1]["name"], page[-1]["id"]) if page else None
    page_info = {"hasNextPage": len(rows) > first, "endCursor": end}
    return _json({"data": {"providers": {"edges": edges, "pageInfo": page_info}}})


async def book(request: Request) -> Response:
    b = orjson.loads(await request.body())
    starts_at = datetime.fromisoformat(b["starts_at"])
    ends_at = starts_at + timedelta(minutes=b["duration"])
    blocked = ends_at + timedelta(minutes=b["buffer"])
    async with _pool.acquire() as conn:
        appointment_id = await conn.fetchval(
            INSERT_SQL,
            b["provider_id"],
            b["client_id"],
            b["kind"],
            b["format"],
            starts_at,
            ends_at,
            blocked,
            b["duration"],
            datetime.now(UTC),
        )
    return _json(
        {
            "data": {
                "bookAppointment": {
                    "id": global_id("Appointment", appointment_id),
                    "kind": b["kind"],
                    "format": b["format"],
                    "status": "BOOKED",
                    "startsAt": instant(starts_at),
                    "endsAt": instant(ends_at),
                }
            }
        }
    )


def thread_channel(thread_id: int) -> str:
    return f"bench:thread:{thread_id}"


def user_channel(user_id: int) -> str:
    return f"bench:user:{user_id}"


async def send(request: Request) -> Response:
    b = orjson.loads(await request.body())
    thread_id, sender = b["thread_id"], b["sender_id"]
    now = datetime.now(UTC)
    async with _pool.acquire() as conn:
        async with conn.transaction():
            thread = await conn.fetchrow(NEXT_SEQ_SQL, thread_id, now, sender)
            message_id = await conn.fetchval(
                INSERT_MESSAGE_SQL,
                thread_id,
                thread["last_seq"],
                sender,
                b["body"],
                b["client_message_id"],
                now,
            )
        provider_user = await conn.fetchval(PROVIDER_USER_SQL, thread["provider_id"])
    message = {
        "id": global_id("Message", message_id),
        "body": b["body"],
        "clientMessageId": b["client_message_id"],
        "sentAt": instant(now),
    }
    await _redis.publish(
        thread_channel(thread_id),
        orjson.dumps({"data": {"messageAdded": message}}),
    )
    unread = thread["last_seq"] - thread["client_read_seq"]
    inbox = orjson.dumps(
        {
            "data": {
                "inboxUpdated": {
                    "id": global_id("MessageThread", thread_id),
                    "unreadCount": unread,
                }
            }
        }
    )
    await _redis.publish(user_channel(thread["client_id"]), inbox)
    await _redis.publish(user_channel(provider_user), inbox)
    return _json({"data": {"sendMessage": message}})


class Relay:
    """One Redis subscription per channel, fanned out to this process's sockets."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.pubsub = client.pubsub()
        self.sockets: dict[str, set[WebSocket]] = defaultdict(set)
        # redis-py's PubSub loses subscriptions when SUBSCRIBEs overlap.
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None

    async def join(self, channel: str, socket: WebSocket) -> None:
        fresh = channel not in self.sockets
        self.sockets[channel].add(socket)
        if fresh:
            async with self.lock:
                await self.pubsub.subscribe(channel)
            if self.task is None:
                self.task = asyncio.create_task(self.pump())

    async def leave(self, channel: str, socket: WebSocket) -> None:
        sockets = self.sockets.get(channel)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[channel]
                async with self.lock:
                    await self.pubsub.unsubscribe(channel)

    async def pump(self) -> None:
        while True:
            message = await self.pubsub.get_message(
                ignore_subscribe_messages=True, timeout=1.0
            )
            if message is None:
                continue
            channel = message["channel"].decode()
            text = message["data"].decode()
            for socket in list(self.sockets.get(channel, ())):
                try:
                    await socket.send_text(text)
                except Exception:
                    pass


async def relay(socket: WebSocket) -> None:
    await socket.accept()
    channels: list[str] = []
    try:
        hello = orjson.loads(await socket.receive_text())
        channels = [thread_channel(hello["thread"]), user_channel(hello["user"])]
        for channel in channels:
            await _relay.join(channel, socket)
        await socket.send_text('{"type":"ready"}')
        while True:
            await socket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        for channel in channels:
            await _relay.leave(channel, socket)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global _pool, _redis, _relay
    _pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=1, max_size=POOL_SIZE
    )
    _redis = aioredis.from_url(os.environ["REDIS_URL"])
    _relay = Relay(aioredis.from_url(os.environ["REDIS_URL"]))
    yield
    await _pool.close()


app = Starlette(
    routes=[
        Route("/directory", directory, methods=["POST"]),
        Route("/book", book, methods=["POST"]),
        Route("/send", send, methods=["POST"]),
        Route("/healthz", healthz),
        WebSocketRoute("/relay", relay),
    ],
    lifespan=lifespan,
)
