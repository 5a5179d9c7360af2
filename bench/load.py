"""A small HTTP/1.1 load generator: keep-alive connections on asyncio streams.

It writes prebuilt requests and reads Content-Length bodies, so the client
spends tens of microseconds per request and the server is what gets measured.
"""

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson


def http_request(
    path: str,
    body: object,
    *,
    port: int,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A POST with a JSON body, ready to write on a keep-alive connection."""
    payload = orjson.dumps(body)
    lines = [
        f"POST {path} HTTP/1.1",
        f"host: 127.0.0.1:{port}",
        "content-type: application/json",
        f"content-length: {len(payload)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status, _, body = await read_full_response(reader)
    return status, body


async def read_full_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    """Status, header block (lower-cased) and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at < 0:
        raise RuntimeError(f"expected a content-length response, got {head[:200]!r}")
    end = lower.find(b"\r\n", at)
    length = int(lower[at + 15 : end])
    return status, lower, await reader.readexactly(length)


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> "Connection":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        self.writer.write(request)
        try:
            return await read_response(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.writer = None  # the server closed it; reopen next time
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def post_with_headers(
    port: int, path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict]:
    """One request on its own connection: status, header block, JSON body."""
    conn = await Connection(port).open()
    try:
        conn.writer.write(http_request(path, body, port=port, headers=headers))
        status, head, data = await read_full_response(conn.reader)
    finally:
        conn.close()
    return status, head, orjson.loads(data)


async def post(
    port: int, path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    """One request on its own connection (setup steps, checks)."""
    conn = await Connection(port).open()
    try:
        status, data = await conn.send(
            http_request(path, body, port=port, headers=headers)
        )
    finally:
        conn.close()
    return status, orjson.loads(data)


@dataclass
class LoadResult:
    requests: int = 0  # completed well inside the measured window
    completed: int = 0  # completed at all, warm-up included (for CPU per request)
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def graphql_ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"errors"' not in body


async def run_load(
    port: int,
    next_request: Callable[[], bytes],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    ok: Callable[[int, bytes], bool] = graphql_ok,
) -> LoadResult:
    """Closed loop: `concurrency` connections send back to back for warmup+duration.

    Only requests that complete inside the measured window count.
    """
    result = LoadResult()
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def worker() -> None:
        conn = await Connection(port).open()
        try:
            while True:
                request = next_request()
                sent = loop.time()
                if sent >= stop_at:
                    return
                try:
                    status, body = await conn.send(request)
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    status, body = 0, repr(error).encode()
                done = loop.time()
                result.completed += 1
                if done < measure_from or done > stop_at:
                    continue
                if ok(status, body):
                    result.requests += 1
                    result.latencies.append(done - sent)
                else:
                    result.errors += 1
                    if result.first_error is None:
                        result.first_error = f"{status} {body[:300]!r}"
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = duration
    return result


def cycling(requests: Sequence[bytes], seed: int = 1) -> Callable[[], bytes]:
    """Requests in a shuffled endless cycle."""
    order = list(requests)
    random.Random(seed).shuffle(order)
    index = 0

    def next_request() -> bytes:
        nonlocal index
        request = order[index % len(order)]
        index += 1
        return request

    return next_request


def now() -> float:
    return time.perf_counter()
