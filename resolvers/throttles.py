"""Throttles against guessing and flooding, shared through Redis when configured.

Fixed windows: a key's count starts at the first hit of each window (of
`window` seconds, aligned to the clock) and the request past the limit waits
for the next one. In-process counters serve a single process; with REDIS_URL
the count is one INCR per hit, so every server process sees the same count.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from typing import Any

import clock
from schema.context import Context
from schema.errors import RateLimited
from settings import get_settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "rapport:throttle:"

# INCR then EXPIRE on the first hit, atomically: a crash between the two
# would otherwise leave a key that never expires.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class Limit:
    kind: str  # what is limited: "login-email", "login-address", "message"
    limit: int
    window_seconds: int


async def check_login(ctx: Context, email: str) -> None:
    """Refuse with RATE_LIMITED when an email or address tries too often."""
    settings = get_settings()
    window = settings.login_window_seconds
    await hit(
        Limit("login-email", settings.login_attempts_per_email, window),
        email.strip().lower(),
        "Too many log-in attempts for this account",
    )
    address = client_address(ctx)
    if address is not None:
        await hit(
            Limit("login-address", settings.login_attempts_per_address, window),
            address,
            "Too many log-in attempts from your network",
        )


async def check_send_message(ctx: Context) -> None:
    """Refuse with RATE_LIMITED when one sender sends too many messages."""
    viewer = ctx.viewer
    if viewer is None:
        return  # the resolver answers UNAUTHENTICATED
    limit = Limit("message", get_settings().messages_per_minute, 60)
    await hit(limit, str(viewer.id), "You are sending messages too quickly")


async def hit(limit: Limit, subject: str, refusal: str) -> None:
    """Count one attempt by `subject`; past the limit, RateLimited."""
    now = clock.now().timestamp()
    window = max(1, limit.window_seconds)
    index = int(now // window)
    key = f"{KEY_PREFIX}{limit.kind}:{_digest(subject)}:{index}"

    count = await _store().incr(key, window)
    if count <= limit.limit:
        return

    retry_after = max(1, math.ceil((index + 1) * window - now))
    logger.info("Throttled kind=%s retry_after=%s", limit.kind, retry_after)
    raise RateLimited(
        f"{refusal}: try again in {_in_words(retry_after)}.",
        retry_after_seconds=retry_after,
    )


def client_address(ctx: Context) -> str | None:
    """The caller's address: the peer, or what trusted proxies say it is.

    X-Forwarded-For is read right to left, skipping our own proxies; the
    first address they did not add is the client. A peer that is not a
    trusted proxy is the client, whatever header it sends.
    """
    request = ctx.request
    peer = getattr(getattr(request, "client", None), "host", None)
    if peer is None:
        return None
    trusted = _trusted_networks(tuple(get_settings().trusted_proxies))
    if not _is_trusted(peer, trusted):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _trusted_networks(
    entries: tuple[str, ...],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("Ignoring a TRUSTED_PROXIES entry that is not an address")
    return networks


def _is_trusted(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _digest(subject: str) -> str:
    # Keys hold a hash, so Redis never stores emails or addresses.
    return hashlib.sha256(subject.encode()).hexdigest()[:24]


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


class MemoryCounters:
    """Per-process counters; stale windows are dropped as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, window: int) -> int:
        now = clock.now().timestamp()
        count, expires = self._counts.get(key, (0, now + window))
        if expires <= now:
            count, expires = 0, now + window
        self._counts[key] = (count + 1, expires)
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        return count + 1

    async def clear(self) -> None:
        self._counts.clear()


class RedisCounters:
    """One shared count per key for every process; falls back when Redis fails."""

    def __init__(self, url: str, fallback: MemoryCounters) -> None:
        from redis import asyncio as aioredis

        self._client = aioredis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        self._script = self._client.register_script(_HIT_SCRIPT)
        self._fallback = fallback
        self.loop = asyncio.get_running_loop()

    async def incr(self, key: str, window: int) -> int:
        try:
            return int(await self._script(keys=[key], args=[window + 1]))
        except Exception as error:
            # Throttling must not take logging in down with Redis: count in
            # this process until it answers again.
            logger.warning("Throttle store unavailable error=%s", type(error).__name__)
            return await self._fallback.incr(key, window)

    async def clear(self) -> None:
        async for key in self._client.scan_iter(match=KEY_PREFIX + "*", count=500):
            await self._client.delete(key)
        await self._fallback.clear()

    async def close(self) -> None:
        await self._client.aclose()


_memory = MemoryCounters()
_redis: RedisCounters | None = None


def _store() -> MemoryCounters | RedisCounters:
    global _redis
    url = get_settings().redis_url
    if not url:
        return _memory
    # A Redis client belongs to the event loop that made it.
    if _redis is None or _redis.loop is not asyncio.get_running_loop():
        _redis = RedisCounters(url, _memory)
    return _redis


async def reset() -> None:
    """Forget every count (tests and benchmarks start from zero)."""
    await _store().clear()
