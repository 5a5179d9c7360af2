"""Where a server's time goes: py-spy samples summarised by function."""

import asyncio
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.services import OUT


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


async def record(
    pid: int, seconds: float, name: str, load, native: bool = False
) -> Path | None:
    """Sample `pid` while `load()` runs; collapsed stacks in bench/out/<name>.txt."""
    binary = py_spy()
    if binary is None:
        return None
    path = OUT / f"profile-{name}.txt"
    proc = subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(path),
        ]
        + (["--native"] if native else ["--nonblocking"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await load()
    finally:
        await asyncio.to_thread(proc.wait)
    return path if path.exists() else None


async def profile_during(
    pid: int, name: str, title: str, load, seconds: float = 6
) -> list[str]:
    """Summary lines of a py-spy recording of pid while load() runs."""
    path = await record(pid, seconds, name, load)
    if path is None:
        return [f"{title}: py-spy unavailable (pip install -e '.[bench]')"]
    return [f"{title} (py-spy, bench/out/{path.name}):"] + summarise(path)


# Where a sample's time is charged: the deepest frame whose file (as py-spy
# names it, relative to sys.path) starts with one of these.
_BUCKETS = (
    ("SQL driver (asyncpg, aiosqlite)", ("asyncpg/", "aiosqlite/")),
    (
        "ORM query building and rows (tortoise, pypika)",
        ("tortoise/", "pypika_tortoise/"),
    ),
    ("Redis client", ("redis/",)),
    ("open-times engine", ("resolvers/availability_engine.py",)),
    ("GraphQL validation", ("graphql/validation/", "strawberry/extensions/validation")),
    ("GraphQL parsing", ("graphql/language/",)),
    (
        "Rapport code (resolvers, schema, subscriptions, web)",
        (
            "resolvers/",
            "schema/",
            "subscriptions/",
            "web/",
            "models/",
            "clock.py",
        ),
    ),
    ("GraphQL execution (graphql-core, strawberry)", ("graphql/", "strawberry/")),
    (
        "HTTP and websocket serving",
        (
            "uvicorn/",
            "starlette/",
            "websockets/",
            "broadcaster/",
            "middleware.py",
            "observability.py",
            "prometheus_client/",
            "app.py",
            "httptools/",
        ),
    ),
)
_OURS = ("resolvers/", "schema/", "subscriptions/", "web/", "models/")
_OUR_FILES = frozenset(
    path.name
    for folder in ("resolvers", "schema", "subscriptions", "web", "models")
    for path in (OUT.parent.parent / folder).glob("*.py")
    if path.name != "__init__.py"
)


def _file(frame: str) -> str:
    return frame.rpartition(" (")[2].rstrip(")").rpartition(":")[0]


def summarise(path: Path, top: int = 10) -> list[str]:
    """Time by layer, then the functions with the most self time."""
    buckets: Counter[str] = Counter()
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        buckets[_bucket(frames)] += n
        own[_short(frames[-1])] += n
        for frame in {f for f in frames if _is_ours(_file(f))}:
            ours[_short(frame)] += n
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples; by layer (deepest matching frame):"]
    for name, n in buckets.most_common():
        lines.append(f"  {100 * n / total:5.1f}%  {name}")
    lines.append("  most self time:")
    for frame, n in own.most_common(top):
        lines.append(f"  {100 * n / total:5.1f}%  {frame}")
    lines.append("  Rapport functions, inclusive:")
    shown = 0
    for frame, n in ours.most_common():
        if frame.endswith(_PLUMBING) or n > 0.9 * total:
            continue
        lines.append(f"  {100 * n / total:5.1f}%  {frame}")
        shown += 1
        if shown == top:
            break
    return lines


def _is_ours(path: str) -> bool:
    # py-spy sometimes names a module of ours by its file name alone.
    return path.startswith(_OURS) or ("/" not in path and path in _OUR_FILES)


def _bucket(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = _file(frame)
        for name, prefixes in _BUCKETS:
            if path.startswith(prefixes):
                return name
        if _is_ours(path):
            return _BUCKETS[6][0]
    return "event loop and the rest"


# Frames every request passes through: they say nothing about where it differs.
_PLUMBING = (
    "(asyncio/runners.py)",
    "(uvicorn/server.py)",
    "(uvicorn/main.py)",
    "(uvicorn/_compat.py)",
    "(serve.py)",
    "(starlette/applications.py)",
    "(middleware/errors.py)",
    "(middleware/exceptions.py)",
    "(starlette/routing.py)",
    "(starlette/_exception_handler.py)",
    "(http/httptools_impl.py)",
    "(contextlib.py)",
    "(runpy.py)",
    "(utils/await_maybe.py)",
    "(app.py)",
    "(middleware.py)",
)


def _short(frame: str) -> str:
    # py-spy frames look like "function (path/to/file.py:123)".
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file, _, _line = where.rpartition(":")
    parts = Path(file).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    elif len(parts) > 2:
        parts = parts[-2:]
    return f"{name} ({'/'.join(parts)})"
