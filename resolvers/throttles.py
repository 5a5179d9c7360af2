"""Throttles against guessing and flooding, shared through Redis when configured.

Sliding windows: a hit counts against the current fixed window plus the
previous one, weighted by how much of it still lies within `window` seconds
of now. Unlike plain fixed windows, ten attempts just before a boundary and
ten just after cannot both pass a limit of ten. A refused attempt is not
counted, so waiting the time a refusal names always works. In-process
counters serve a single process; with REDIS_URL each hit is one script call
and every server process sees the same counts.
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
FAST_FAIL_SECONDS = 1.0

# Check, then count, atomically, so concurrent hits from several processes
# never all pass on the same stale count. ARGV: ttl, previous window's weight,
# limit. Returns {allowed, current count, previous count}.
_HIT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if current + previous * tonumber(ARGV[2]) + 1 > tonumber(ARGV[3]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {1, current, previous}
"""


@dataclass(frozen=True)
class Window:
    """One subject's two counts: this fixed window's and the previous one's."""

    current_key: str
    previous_key: str
    previous_weight: float  # share of the previous window still in the slide
    limit: int
    ttl_seconds: int  # a count lives through the window after its own


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


async def check_sign_up(ctx: Context) -> None:
    """Refuse with RATE_LIMITED when one address signs up too often."""
    address = client_address(ctx)
    if address is None:
        return
    settings = get_settings()
    limit = Limit(
        "signup-address", settings.signups_per_address, settings.signup_window_seconds
    )
    await hit(limit, address, "Too many sign-ups from your network")


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
    length = max(1, limit.window_seconds)
    index = int(now // length)
    elapsed = now - index * length
    prefix = f"{KEY_PREFIX}{limit.kind}:{_digest(subject)}:"
    window = Window(
        current_key=f"{prefix}{index}",
        previous_key=f"{prefix}{index - 1}",
        previous_weight=(length - elapsed) / length,
        limit=limit.limit,
        ttl_seconds=2 * length + 1,
    )

    allowed, current, previous = await _store().take(window)
    if allowed:
        return

    retry_after = _seconds_until_room(current, previous, elapsed, length, limit.limit)
    logger.info("Throttled kind=%s retry_after=%s", limit.kind, retry_after)
    raise RateLimited(
        f"{refusal}: try again in {_in_words(retry_after)}.",
        retry_after_seconds=retry_after,
    )


def _seconds_until_room(
    current: int, previous: int, elapsed: float, length: int, limit: int
) -> int:
    """How long until one more attempt fits, if nobody else tries meanwhile."""
    remaining = length - elapsed
    room = limit - 1 - current  # what the previous window's share must shrink to
    if room >= 0 and previous > 0:
        # This window: the previous one's weight falls as the slide moves on.
        wait = remaining - room * length / previous
    else:
        # The next window, where this window's count is the one that fades.
        wait = remaining + length * max(0.0, 1 - (limit - 1) / max(current, 1))
    return max(1, math.ceil(wait))


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
    """Per-process counters; stale ones are dropped as the table grows."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def take(self, window: Window) -> tuple[bool, int, int]:
        now = clock.now().timestamp()
        current = self._count(window.current_key, now)
        previous = self._count(window.previous_key, now)
        if current + previous * window.previous_weight + 1 > window.limit:
            return False, current, previous
        expires = now + window.ttl_seconds
        if current:
            expires = self._counts[window.current_key][1]
        self._counts[window.current_key] = (current + 1, expires)
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        return True, current + 1, previous

    def _count(self, key: str, now: float) -> int:
        count, expires = self._counts.get(key, (0, now))
        return count if expires > now else 0

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
        # After a failure, count in-process for a moment without asking: a
        # stalled Redis would otherwise cost every attempt its timeout.
        self._failing_until = 0.0

    async def take(self, window: Window) -> tuple[bool, int, int]:
        if self.loop.time() < self._failing_until:
            return await self._fallback.take(window)
        try:
            allowed, current, previous = await self._script(
                keys=[window.current_key, window.previous_key],
                args=[window.ttl_seconds, repr(window.previous_weight), window.limit],
            )
        except Exception as error:
            # Throttling must not take logging in down with Redis: count in
            # this process until it answers again.
            logger.warning("Throttle store unavailable error=%s", type(error).__name__)
            self._failing_until = self.loop.time() + FAST_FAIL_SECONDS
            return await self._fallback.take(window)
        return bool(allowed), int(current), int(previous)

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
