"""`make bench`: Rapport against bare baselines on 127.0.0.1, in one run.

Starts its own Redis, PostgreSQL databases and servers, seeds them, runs each
scenario alternating Rapport and the baseline, and prints the table. Knobs
(all in bench/config.py): BENCH_QUICK=1 for a short smoke run, BENCH_ROUNDS,
BENCH_DURATION, BENCH_CONCURRENCY, BENCH_PROVIDERS, BENCH_BIG_PROVIDERS,
BENCH_WS_CLIENTS, BENCH_PROFILE=0 to skip profiles, BENCH_PG_URL,
BENCH_KEEP_DATABASES=1, BENCH_ONLY="3 4" to run some targets only.
"""

import asyncio
import os
import secrets
import subprocess
import sys
import time

import uvloop

from bench import profile
from bench.booking import booking_targets
from bench.config import BenchConfig, load_config
from bench.directory import (
    NO_CACHE,
    directory_bodies,
    directory_targets,
    freshness_check,
    growth_directory_target,
    growth_slots_target,
)
from bench.load import cycling, http_request, post, run_load
from bench.realtime import Side, realtime_targets
from bench.report import Target, render
from bench.seed import World, seed
from bench.services import (
    Redis,
    Server,
    bare_server,
    drop_database,
    load_average,
    migrate,
    rapport_server,
    recreate_database,
)

VIEWER = "{ viewer { user { id } } }"


def log(message: str) -> None:
    print(message, flush=True)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average: {load_average()}"


async def start(*servers: Server) -> None:
    await asyncio.gather(*(s.ready() for s in servers))


async def check_tokens(world: World, rapport: Server) -> None:
    client = world.clients[0]
    _, body = await post(
        rapport.port,
        "/graphql",
        {"query": VIEWER},
        {"authorization": f"Bearer {world.tokens[client]}"},
    )
    user = ((body.get("data") or {}).get("viewer") or {}).get("user")
    if not user:
        raise SystemExit(f"bench: the server refused the bench's tokens: {body}")


async def seed_database(
    config: BenchConfig, name: str, providers: int, secret: str
) -> tuple[str, World]:
    url = await recreate_database(config.pg_url, name)
    await asyncio.to_thread(migrate, url)
    world = await seed(
        url,
        providers=providers,
        appointments_per_provider=config.appointments_per_provider,
        active_clients=config.bookable_clients,
        senders=config.ws_senders,
        provider_tokens=min(providers, config.providers),
        secret=secret,
        log=log,
    )
    return url, world


async def profile_directory(
    config: BenchConfig, world: World, rapport: Server
) -> list[str]:
    bodies = directory_bodies(world)
    requests = [
        http_request("/graphql", b, port=rapport.port, headers=NO_CACHE) for b in bodies
    ]

    async def load() -> None:
        await run_load(
            rapport.port,
            cycling(requests),
            concurrency=config.concurrency,
            duration=5,
            warmup=0.2,
        )

    return await profile.profile_during(
        rapport.pid,
        "directory",
        "[1] where a computed directory page's time goes",
        load,
    )


async def one(target) -> list[Target]:
    return [await target]


async def directory_and_freshness(
    config: BenchConfig,
    world: World,
    rapport: Server,
    rapport2: Server,
    bare: Server,
    extra: list[str],
) -> list[Target]:
    directory, _ = await directory_targets(config, world, rapport, bare, log)
    log("target 2: freshness across two server processes")
    problems = await freshness_check(world, rapport2, rapport, log)
    t1, t2 = directory
    if problems:
        t2.met = False
        t2.notes += problems
    else:
        t2.notes.append(
            "fresh: a booking, a cancellation and a profile change made through "
            "process B each showed in process A's very next response"
        )
    if not t1.met and config.profile:
        extra += [""] + await profile_directory(config, world, rapport)
    return directory


async def main() -> int:
    config = load_config()
    started = time.perf_counter()
    header = [
        (
            f"bench: Rapport vs bare baselines, {os.cpu_count()} cores"
            f"{', QUICK mode' if config.quick else ''}; rounds={config.rounds}, "
            f"{config.duration:.0f}s each, {config.concurrency} connections"
        ),
        "servers: one uvicorn process each, LOG_LEVEL=warning, ACCESS_LOG=false, "
        "throttles raised; the load generator shares the same cores",
        f"machine at start: {uptime()}",
    ]
    for line in header:
        log(line)
    secret = secrets.token_urlsafe(32)
    redis = Redis()
    servers: list[Server] = []
    databases: list[str] = []
    targets: list[Target] = []
    extra: list[str] = []
    try:
        await redis.ready()
        log(f"redis on {redis.url}; seeding {config.database}")
        databases.append(config.database)
        url, world = await seed_database(
            config, config.database, config.providers, secret
        )

        rapport = rapport_server("rapport", url, redis.url, secret)
        rapport2 = rapport_server("rapport-2", url, redis.url, secret)
        bare = bare_server("bare", url, redis.url)
        bare2 = bare_server("bare-2", url, redis.url)
        servers += [rapport, rapport2, bare, bare2]
        await start(*servers)
        await check_tokens(world, rapport)

        async def stage(
            numbers: str, title: str, run, *involved: Server
        ) -> list[Target]:
            """A scenario whose failure is reported in the table, not raised."""
            if not config.runs(numbers):
                return []
            try:
                return await run()
            except Exception as error:
                log(f"bench: {title} failed: {error!r}")
                for server in involved:
                    if not server.alive():
                        log(f"bench: restarting {server.name}")
                        server.restart()
                        await server.ready()
                return [
                    Target(
                        n,
                        f"{title}: not measured",
                        "-",
                        "-",
                        None,
                        "-",
                        False,
                        [f"{type(error).__name__}: {str(error)[:300]}"],
                    )
                    for n in numbers.split()
                ]

        targets += await stage(
            "1 2",
            "directory page",
            lambda: directory_and_freshness(
                config, world, rapport, rapport2, bare, extra
            ),
            rapport,
            rapport2,
            bare,
        )
        targets += await stage(
            "3a 3b",
            "booking",
            lambda: booking_targets(config, world, rapport, bare, log, extra),
            rapport,
            bare,
        )
        targets += await stage(
            "5a",
            "availableSlots growth",
            lambda: one(growth_slots_target(config, world, rapport, log, extra)),
            rapport,
        )
        targets += await stage(
            "4a 4b",
            "realtime",
            lambda: realtime_targets(
                config,
                world,
                Side("rapport", rapport, rapport2, bare=False),
                Side("bare", bare, bare2, bare=True),
                redis.url,
                url,
                log,
                extra,
            ),
            rapport,
            rapport2,
            bare,
            bare2,
        )

        for server in (rapport2, bare, bare2):
            server.stop()
        if config.runs("5b"):
            big_name = f"{config.database}_big"
            log(f"seeding {big_name}")
            databases.append(big_name)
            big_url, _ = await seed_database(
                config, big_name, config.big_providers, secret
            )
            big = rapport_server("rapport-big", big_url, redis.url, secret)
            servers.append(big)
            await start(big)
            targets += await stage(
                "5b",
                "directory growth",
                lambda: one(
                    growth_directory_target(config, world, rapport, big, log)
                ),
                rapport,
                big,
            )
    finally:
        for server in servers:
            server.stop()
        redis.stop()
        if os.environ.get("BENCH_KEEP_DATABASES") in (None, "", "0"):
            for name in databases:
                try:
                    await drop_database(config.pg_url, name)
                except Exception as error:  # reported, never hides the table
                    log(f"bench: could not drop {name}: {error!r}")

    targets.sort(key=lambda t: t.number)
    footer = extra + [
        "",
        f"machine at end: {uptime()}",
        f"bench took {time.perf_counter() - started:.0f}s",
    ]
    log("")
    log(render(targets, header, footer))
    return 0


if __name__ == "__main__":
    sys.exit(uvloop.run(main()))
