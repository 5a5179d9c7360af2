"""Target 3: bookAppointment against a bare INSERT, and the 100-for-10 race."""

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import orjson

from bench.baseline import global_id
from bench.config import BenchConfig
from bench.directory import alternate
from bench.load import Connection, http_request, percentile, run_load
from bench.profile import profile_during
from bench.report import Target, at_least, at_most, median
from bench.seed import BOOKING_FROM_DAY, ProviderSeed, World
from bench.services import Server
from resolvers.availability_engine import Window, iter_open_slots

BOOK = """
mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { id kind format status startsAt endsAt }
}
"""
BURST = 100
BURST_SLOTS = 10


def _offer(p: ProviderSeed) -> tuple[str, str, int]:
    if p.first_appointment == "INTRO_CALL":
        return "INTRO_CALL", "PHONE", p.intro_minutes
    return "INTAKE_SESSION", "VIDEO", p.session_minutes


def booking_input(p: ProviderSeed, starts_at: datetime) -> dict:
    return {
        "providerId": global_id("Provider", p.id),
        "startsAt": starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": _offer(p)[1],
    }


class Slots:
    """Free slots per provider, from day 30 on, spaced so none blocks another."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._iters: dict[int, Iterator] = {}
        self._last_end: dict[int, datetime] = {}

    def take(self, p: ProviderSeed) -> datetime:
        slots = self._iters.get(p.id)
        if slots is None:
            kind, fmt, minutes = _offer(p)
            now = datetime.now(UTC)
            slots = self._iters[p.id] = iter_open_slots(
                windows=[Window(d, a, b, (fmt,)) for d, a, b in p.windows],
                timezone=p.timezone,
                duration_minutes=minutes,
                step_minutes=p.step_minutes,
                buffer_minutes=p.buffer_minutes,
                busy=[],
                time_off=p.time_off,
                now=now,
                minimum_notice_hours=p.notice_hours,
                booking_horizon_days=p.horizon_days,
                range_start=self.world.now + timedelta(days=BOOKING_FROM_DAY),
                range_end=now + timedelta(days=p.horizon_days - 1),
            )
        # The engine keeps the buffer after a booked span and again around a
        # new slot, so the next free start is two buffers past the last end.
        earliest = self._last_end.get(p.id)
        for slot in slots:
            if earliest is None or slot.starts_at >= earliest:
                self._last_end[p.id] = slot.ends_at + 2 * timedelta(
                    minutes=p.buffer_minutes
                )
                return slot.starts_at
        raise RuntimeError(f"provider {p.id} has no free slot left for the bench")


class Bookings:
    """Unique (client, provider, slot) bookings, shared by Rapport and the bare side
    so neither takes a slot or a first appointment the other will need."""

    def __init__(self, world: World, pool: list[ProviderSeed]) -> None:
        self.world = world
        self.pool = pool
        self.slots = Slots(world)
        self.count = 0

    def next(self) -> tuple[int, ProviderSeed, datetime]:
        k = self.count
        self.count += 1
        provider = self.pool[k % len(self.pool)]
        client = self.world.clients[(k // len(self.pool)) % len(self.world.clients)]
        return client, provider, self.slots.take(provider)

    def rapport_request(self, port: int) -> Callable[[], bytes]:
        def next_request() -> bytes:
            client, provider, starts_at = self.next()
            return rapport_booking(port, self.world, client, provider, starts_at)

        return next_request

    def bare_request(self, port: int) -> Callable[[], bytes]:
        def next_request() -> bytes:
            client, provider, starts_at = self.next()
            kind, fmt, minutes = _offer(provider)
            body = {
                "provider_id": provider.id,
                "client_id": client,
                "kind": kind,
                "format": fmt,
                "starts_at": starts_at.isoformat(),
                "duration": minutes,
                "buffer": provider.buffer_minutes,
            }
            return http_request("/book", body, port=port)

        return next_request


def rapport_booking(
    port: int, world: World, client: int, provider: ProviderSeed, starts_at: datetime
) -> bytes:
    return http_request(
        "/graphql",
        {"query": BOOK, "variables": {"input": booking_input(provider, starts_at)}},
        port=port,
        headers={"authorization": f"Bearer {world.tokens[client]}"},
    )


async def burst(port: int, requests: list[bytes]) -> tuple[list[float], list[dict]]:
    """All requests written at the same moment, each on its own connection."""
    conns = [await Connection(port).open() for _ in requests]
    start = asyncio.Event()

    async def one(conn: Connection, request: bytes) -> tuple[float, dict]:
        await start.wait()
        sent = time.perf_counter()
        _, body = await conn.send(request)
        return time.perf_counter() - sent, orjson.loads(body)

    tasks = [asyncio.create_task(one(c, r)) for c, r in zip(conns, requests)]
    await asyncio.sleep(0.05)
    start.set()
    done = await asyncio.gather(*tasks)
    for conn in conns:
        conn.close()
    return [latency for latency, _ in done], [body for _, body in done]


async def booking_targets(
    config: BenchConfig,
    world: World,
    rapport: Server,
    bare: Server,
    log,
    profiles: list[str],
) -> list[Target]:
    pool = [
        p
        for p in world.providers
        if p.accepting and p.horizon_days - 1 > BOOKING_FROM_DAY + 7
    ]
    # The race gets providers of its own, the throughput runs the rest.
    racers, pool = pool[-config.rounds * 2 - 2 :], pool[: -config.rounds * 2 - 2]
    bookings = Bookings(world, pool)

    log("target 3: bookAppointment, uncontended")
    runs = await alternate(
        config,
        {
            "rapport": (rapport, bookings.rapport_request(rapport.port)),
            "bare": (bare, bookings.bare_request(bare.port)),
        },
        log,
    )
    ours = median([m.rate for m in runs["rapport"]])
    theirs = median([m.rate for m in runs["bare"]])
    errors = sum(m.result.errors for m in runs["rapport"])
    first_error = next(
        (m.result.first_error for m in runs["rapport"] if m.result.first_error), None
    )
    notes = [
        f"{config.concurrency} connections; p99 rapport "
        f"{1000 * median([m.result.percentile(99) for m in runs['rapport']]):.0f} ms, "
        f"bare {1000 * median([m.result.percentile(99) for m in runs['bare']]):.0f} ms; "
        f"server CPU per booking {median([m.cpu_ms for m in runs['rapport']]):.2f} ms "
        f"vs {median([m.cpu_ms for m in runs['bare']]):.2f} ms"
    ]
    if errors:
        notes.append(f"{errors} bookings failed, first: {first_error}")
    t3a = Target(
        "3a",
        "bookAppointment req/s",
        f"{ours:.0f}",
        f"bare insert {theirs:.0f}",
        ours / theirs,
        "≥ 0.25",
        at_least(ours / theirs, 0.25) and not errors,
        notes,
    )
    if not t3a.met and config.profile:

        async def load() -> None:
            await run_load(
                rapport.port,
                bookings.rapport_request(rapport.port),
                concurrency=config.concurrency,
                duration=6,
                warmup=0.2,
            )

        profiles += [""] + await profile_during(
            rapport.pid, "booking", "[3a] where bookAppointment's time goes", load
        )

    log(
        f"target 3: {BURST} concurrent bookings, for {BURST_SLOTS} slots vs all different"
    )
    race_p99, calm_p99, wins, losses_ok = [], [], [], True
    client_base = 100  # clients the throughput runs never reach
    for round_no in range(max(config.rounds, 2)):
        clients = world.clients[client_base + round_no * BURST :][:BURST]
        # Uncontended: every request a different provider.
        calm = []
        for client in clients:
            _, provider, starts_at = bookings.next()
            calm.append(
                rapport_booking(rapport.port, world, client, provider, starts_at)
            )
        latencies, bodies = await burst(rapport.port, calm)
        calm_p99.append(percentile(latencies, 99))
        calm_errors = sum(1 for b in bodies if b.get("errors"))
        # Contended: ten slots of one provider, ten requests each.
        provider = racers[round_no % len(racers)]
        slots = [bookings.slots.take(provider) for _ in range(BURST_SLOTS)]
        race = [
            rapport_booking(
                rapport.port, world, client, provider, slots[i % BURST_SLOTS]
            )
            for i, client in enumerate(clients)
        ]
        latencies, bodies = await burst(rapport.port, race)
        race_p99.append(percentile(latencies, 99))
        won = sum(1 for b in bodies if not b.get("errors"))
        codes = {e["extensions"]["code"] for b in bodies for e in b.get("errors", [])}
        wins.append(won)
        losses_ok = losses_ok and codes <= {"SLOT_UNAVAILABLE"}
        log(
            f"  round {round_no + 1}: race {won} won, codes {sorted(codes)}, p99 "
            f"{1000 * race_p99[-1]:.0f} ms; uncontended p99 {1000 * calm_p99[-1]:.0f} ms"
            f" ({calm_errors} failed)"
        )
    ratio = median(race_p99) / median(calm_p99)
    exact = all(w == BURST_SLOTS for w in wins)
    t3b = Target(
        "3b",
        f"{BURST} bookings for {BURST_SLOTS} slots: p99",
        f"{1000 * median(race_p99):.0f} ms",
        f"uncontended {1000 * median(calm_p99):.0f} ms",
        ratio,
        "≤ 3.00",
        at_most(ratio, 3.0) and exact and losses_ok,
        [
            f"successes per round {wins} (exactly {BURST_SLOTS} wanted); losers "
            f"{'all SLOT_UNAVAILABLE' if losses_ok else 'had other codes'}; uncontended = "
            f"the same {BURST}-request burst for {BURST} different providers"
        ],
    )
    return [t3a, t3b]
