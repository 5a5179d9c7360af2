"""Targets 1, 2 and 5: the directory page, its repeat visits, and growth."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from bench.baseline import global_id
from bench.config import BenchConfig
from bench.load import (
    LoadResult,
    cycling,
    http_request,
    post,
    post_with_headers,
    run_load,
)
from bench.profile import profile_during
from bench.report import Target, at_least, at_most, median
from bench.seed import World
from bench.services import Server, cpu_seconds

DIRECTORY = """
query Directory($state: String!, $plan: ID!, $first: Int!) {
  providers(filter: {state: $state, insurancePlanId: $plan}, first: $first) {
    edges {
      node {
        id name credentials specialties
        insurancePlans { name payer }
        offices { label address state }
        nextAvailableSlot { startsAt endsAt formats }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) { availableSlots(from: $from, to: $to) { startsAt endsAt formats } }
}
"""
# Asks for a fresh answer: the directory page computed, not served from cache.
NO_CACHE = {"cache-control": "no-cache"}


def directory_bodies(world: World, first: int = 20) -> list[dict]:
    return [
        {
            "query": DIRECTORY,
            "variables": {
                "state": state,
                "plan": global_id("InsurancePlan", plan),
                "first": first,
            },
        }
        for state, plan in world.combos
    ]


class Measured:
    """A load round's figures, with the server's CPU time per request."""

    def __init__(self, result: LoadResult, cpu: float) -> None:
        self.result = result
        self.rate = result.rate
        done = result.completed
        self.cpu_ms = 1000 * cpu / done if done else float("nan")


async def measure(
    server: Server,
    next_request: Callable[[], bytes],
    config: BenchConfig,
    concurrency: int | None = None,
) -> Measured:
    cpu_before = cpu_seconds(server.pid)
    result = await run_load(
        server.port,
        next_request,
        concurrency=concurrency or config.concurrency,
        duration=config.duration,
        warmup=config.warmup,
    )
    server.check_alive()
    cpu = cpu_seconds(server.pid) - cpu_before
    if result.errors:
        print(f"  {server.name}: {result.errors} errors, first: {result.first_error}")
    return Measured(result, cpu)


async def alternate(
    config: BenchConfig,
    sides: dict[str, tuple[Server, Callable[[], bytes]]],
    log: Callable[[str], None],
    concurrency: int | None = None,
) -> dict[str, list[Measured]]:
    """Each side in turn, rounds times, the order flipped every round."""
    results: dict[str, list[Measured]] = {name: [] for name in sides}
    names = list(sides)
    for round_no in range(config.rounds):
        order = names if round_no % 2 == 0 else list(reversed(names))
        for name in order:
            server, next_request = sides[name]
            measured = await measure(server, next_request, config, concurrency)
            results[name].append(measured)
            log(
                f"  round {round_no + 1} {name}: {measured.rate:.0f} req/s, "
                f"p50 {1000 * measured.result.percentile(50):.1f} ms, "
                f"server cpu {measured.cpu_ms:.2f} ms/req"
            )
    return results


def _errors(runs: list[Measured]) -> int:
    return sum(m.result.errors for m in runs)


async def check_same_json(world: World, rapport: Server, bare: Server) -> list[str]:
    """The baseline answers exactly what Rapport answers (bar a moving clock)."""
    problems = []
    for body in directory_bodies(world)[:5]:
        for _attempt in range(3):
            _, ours = await post(rapport.port, "/graphql", body, NO_CACHE)
            _, theirs = await post(bare.port, "/directory", body)
            if ours == theirs:
                break
        else:
            problems.append(
                f"baseline JSON differs for {body['variables']}: "
                + _first_difference(ours, theirs)
            )
    return problems


def _first_difference(ours: object, theirs: object, path: str = "") -> str:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            if ours.get(key) != theirs.get(key):
                return _first_difference(
                    ours.get(key), theirs.get(key), f"{path}.{key}"
                )
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (a, b) in enumerate(zip(ours, theirs)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    ours_text = orjson.dumps(ours)[:200]
    theirs_text = orjson.dumps(theirs)[:200]
    return f"at {path or '.'}: rapport {ours_text!r}, bare {theirs_text!r}"


async def directory_targets(
    config: BenchConfig, world: World, rapport: Server, bare: Server, log
) -> tuple[list[Target], float]:
    """Target 1 (computed page) and target 2's throughput (repeat visits)."""
    bodies = directory_bodies(world)
    computed = [
        http_request("/graphql", b, port=rapport.port, headers=NO_CACHE) for b in bodies
    ]
    repeated = [http_request("/graphql", b, port=rapport.port) for b in bodies]
    bare_requests = [http_request("/directory", b, port=bare.port) for b in bodies]
    problems = await check_same_json(world, rapport, bare)
    for problem in problems:
        log(f"  {problem}")

    log("target 1: directory page, computed on every request")
    runs = await alternate(
        config,
        {
            "rapport": (rapport, cycling(computed)),
            "bare": (bare, cycling(bare_requests)),
        },
        log,
    )
    ours = median([m.rate for m in runs["rapport"]])
    theirs = median([m.rate for m in runs["bare"]])
    ratio = ours / theirs
    notes = [
        "server CPU per request: rapport "
        f"{median([m.cpu_ms for m in runs['rapport']]):.2f} ms, "
        f"bare {median([m.cpu_ms for m in runs['bare']]):.2f} ms; "
        f"{len(world.combos)} (state, plan) filters, first: 20"
    ]
    if problems:
        notes.append("baseline JSON differed from Rapport's (see log)")
    errors = _errors(runs["rapport"])
    if errors:
        notes.append(f"{errors} Rapport requests failed")
    t1 = Target(
        "1",
        "directory page req/s",
        f"{ours:.0f}",
        f"bare {theirs:.0f}",
        ratio,
        "≥ 0.40",
        at_least(ratio, 0.4) and not errors and not problems,
        notes,
    )

    log("target 2: the same pages again, anonymous")
    await post(rapport.port, "/graphql", bodies[0])
    _, head, _ = await post_with_headers(rapport.port, "/graphql", bodies[0])
    cached = b"x-rapport-cache: hit" in head
    runs2 = await alternate(
        config,
        {
            "rapport": (rapport, cycling(repeated, 2)),
            "bare": (bare, cycling(bare_requests, 2)),
        },
        log,
    )
    ours2 = median([m.rate for m in runs2["rapport"]])
    theirs2 = median([m.rate for m in runs2["bare"]])
    t2 = Target(
        "2",
        "repeat directory page req/s",
        f"{ours2:.0f}",
        f"bare {theirs2:.0f}",
        ours2 / theirs2,
        "≥ 0.80",
        at_least(ours2 / theirs2, 0.8) and not _errors(runs2["rapport"]),
        [
            f"server CPU per request: rapport "
            f"{median([m.cpu_ms for m in runs2['rapport']]):.2f} ms; "
            + (
                "answered from web/directory_cache.py"
                if cached
                else "NOT cached: the repeats missed web/directory_cache.py"
            )
        ],
    )
    return [t1, t2], ours


async def growth_directory_target(
    config: BenchConfig, world: World, small: Server, big: Server, log
) -> Target:
    """Target 5b: the computed page on a 10x directory takes at most 2x as long."""
    log(
        f"target 5: directory page, {config.providers} vs "
        f"{config.big_providers} providers"
    )
    bodies = directory_bodies(world)
    runs = await alternate(
        config,
        {
            "small": (
                small,
                cycling(
                    [
                        http_request("/graphql", b, port=small.port, headers=NO_CACHE)
                        for b in bodies
                    ]
                ),
            ),
            "big": (
                big,
                cycling(
                    [
                        http_request("/graphql", b, port=big.port, headers=NO_CACHE)
                        for b in bodies
                    ]
                ),
            ),
        },
        log,
    )
    small_rate = median([m.rate for m in runs["small"]])
    big_rate = median([m.rate for m in runs["big"]])
    ratio = small_rate / big_rate
    errors = _errors(runs["small"]) + _errors(runs["big"])
    return Target(
        "5b",
        f"directory time at {config.big_providers // 1000}k vs "
        f"{config.providers // 1000}k providers",
        f"{1000 / big_rate * config.concurrency:.1f} ms",
        f"{1000 / small_rate * config.concurrency:.1f} ms",
        ratio,
        "≤ 2.00",
        at_most(ratio, 2.0) and not errors,
        [f"req/s {big_rate:.0f} vs {small_rate:.0f}; time = concurrency / throughput"],
    )


async def growth_slots_target(
    config: BenchConfig, world: World, rapport: Server, log, profiles: list[str]
) -> Target:
    """Target 5a: availableSlots over 365 days costs at most 7x the same over 60."""
    log("target 5: availableSlots over 365 vs 60 days")
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(
        minute=0, second=0, microsecond=0
    )

    def requests(days: int) -> list[bytes]:
        to = start + timedelta(days=days)
        return [
            http_request(
                "/graphql",
                {
                    "query": SLOTS,
                    "variables": {
                        "id": global_id("Provider", pid),
                        "from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "to": to.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                },
                port=rapport.port,
                headers=NO_CACHE,
            )
            for pid in world.long_horizon
        ]

    _, sample = await post(
        rapport.port,
        "/graphql",
        orjson.loads(requests(365)[0].split(b"\r\n\r\n", 1)[1]),
        NO_CACHE,
    )
    count = len(sample["data"]["provider"]["availableSlots"])
    runs = await alternate(
        config,
        {
            "60 days": (rapport, cycling(requests(60))),
            "365 days": (rapport, cycling(requests(365))),
        },
        log,
        concurrency=4,
    )
    short = median([m.cpu_ms for m in runs["60 days"]])
    long = median([m.cpu_ms for m in runs["365 days"]])
    ratio = long / short
    errors = _errors(runs["60 days"]) + _errors(runs["365 days"])
    target = Target(
        "5a",
        "availableSlots 365 vs 60 days",
        f"{long:.2f} ms",
        f"{short:.2f} ms",
        ratio,
        "≤ 7.00",
        at_most(ratio, 7.0) and not errors,
        [
            f"server CPU per request; {count} slots in a year for a sample provider; "
            f"req/s {median([m.rate for m in runs['365 days']]):.0f} vs "
            f"{median([m.rate for m in runs['60 days']]):.0f}"
        ],
    )
    if not target.met and config.profile:
        year = cycling(requests(365))

        async def load() -> None:
            await run_load(rapport.port, year, concurrency=4, duration=6, warmup=0.2)

        profiles += [""] + await profile_during(
            rapport.pid, "slots", "[5a] where a year of availableSlots goes", load
        )
    return target


async def freshness_check(world: World, front: Server, other: Server, log) -> list[str]:
    """Target 2's "never stale": a change made through one process shows in the
    very next response of the other, which had the page cached."""
    from bench.booking import BOOK, booking_input

    problems: list[str] = []
    body = directory_bodies(world)[0]
    for server in (front, other, front, other):
        await post(server.port, "/graphql", body)  # both processes warm
    _, page = await post(other.port, "/graphql", body)
    first = page["data"]["providers"]["edges"][0]["node"]
    slot = first["nextAvailableSlot"]
    provider_id = int(
        __import__("base64").b64decode(first["id"]).decode().split(":")[1]
    )
    provider = world.provider(provider_id)
    if slot is None or not provider.accepting:
        return [f"freshness: first provider {provider_id} has no bookable slot"]

    client = world.clients[-1]
    headers = {"authorization": f"Bearer {world.tokens[client]}"}
    variables = {
        "input": booking_input(provider, datetime.fromisoformat(slot["startsAt"]))
    }
    _, booked = await post(
        front.port, "/graphql", {"query": BOOK, "variables": variables}, headers
    )
    if booked.get("errors"):
        return [f"freshness: booking failed: {booked['errors'][0]['message']}"]
    _, after = await post(other.port, "/graphql", body)
    now_first = _node(after, first["id"])
    if now_first is None or now_first["nextAvailableSlot"] == slot:
        problems.append("a booking did not show in the other process's next response")

    appointment = booked["data"]["bookAppointment"]["id"]
    cancel = {"query": CANCEL, "variables": {"id": appointment}}
    _, cancelled = await post(front.port, "/graphql", cancel, headers)
    if cancelled.get("errors"):
        problems.append(
            f"freshness: cancel failed: {cancelled['errors'][0]['message']}"
        )
    else:
        _, again = await post(other.port, "/graphql", body)
        node = _node(again, first["id"])
        if node is None or node["nextAvailableSlot"] != slot:
            problems.append(
                "a cancellation did not show in the other process's next response"
            )

    provider_token = world.tokens.get(provider.user_id)
    if provider_token is None:
        problems.append(f"freshness: no token for provider {provider_id}")
        return problems
    credentials = f"B{len(problems)}X"
    update = {"query": UPDATE_PROFILE, "variables": {"credentials": credentials}}
    _, updated = await post(
        front.port, "/graphql", update, {"authorization": f"Bearer {provider_token}"}
    )
    if updated.get("errors"):
        problems.append(
            f"freshness: profile change failed: {updated['errors'][0]['message']}"
        )
    else:
        _, again = await post(other.port, "/graphql", body)
        node = _node(again, first["id"])
        if node is None or node["credentials"] != credentials:
            problems.append(
                "a profile change did not show in the other process's next response"
            )
    for problem in problems:
        log(f"  {problem}")
    return problems


def _node(page: dict, provider_gid: str) -> dict | None:
    for edge in page["data"]["providers"]["edges"]:
        if edge["node"]["id"] == provider_gid:
            return edge["node"]
    return None


CANCEL = """
mutation Cancel($id: ID!) { cancelAppointment(id: $id) { id status } }
"""
UPDATE_PROFILE = """
mutation Update($credentials: String) {
  updateProviderProfile(input: {credentials: $credentials}) { id credentials }
}
"""


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
