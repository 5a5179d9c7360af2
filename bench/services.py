"""What the bench starts on 127.0.0.1 and stops again: Redis, databases, servers."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class ServerDied(RuntimeError):
    pass


class Process:
    """A child process with its own log file; stopped by its pid only."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        OUT.mkdir(exist_ok=True)
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = OUT / f"{name}.log"
        self.log_path.write_bytes(b"")
        self._log = open(self.log_path, "ab")
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def restart(self) -> None:
        """Start it again after it died (same command, port and log)."""
        self.proc = self._spawn()

    def check_alive(self) -> None:
        if not self.alive():
            raise ServerDied(
                f"{self.name} exited with code {self.proc.returncode}; "
                f"last log lines: {self.tail(5)!r}"
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class Redis(Process):
    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise SystemExit("bench: redis-server is not installed")
        self.port = free_port()
        super().__init__(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxclients",
                "20000",
            ],
            dict(os.environ),
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"

    async def ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(b"PING\r\n")
                if (await reader.readline()).startswith(b"+PONG"):
                    writer.close()
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"redis did not start:\n{self.tail()}")


async def recreate_database(server_url: str, name: str) -> str:
    """Drop and create the bench's own database; returns its URL."""
    admin = await asyncpg.connect(f"{server_url}/postgres")
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            name,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{server_url}/{name}"


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(f"{server_url}/postgres")
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            name,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


def migrate(database_url: str) -> None:
    """Apply Rapport's migrations the way the server does at start."""
    code = (
        "import asyncio, database\n"
        "async def main():\n"
        f"    await database.open_database({database_url!r})\n"
        "    await database.close_database()\n"
        "asyncio.run(main())\n"
    )
    env = dict(os.environ, SEED_DEMO_DATA="false", DATABASE_URL=database_url)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def rapport_env(
    database_url: str, redis_url: str, secret: str, port: int
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secret,
        SEED_DEMO_DATA="false",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        # Quiet logs: one line per request would be measured too.
        LOG_LEVEL="warning",
        ACCESS_LOG="false",
        # Throttles raised: the bench is one address sending thousands.
        MESSAGES_PER_MINUTE="1000000",
        LOGIN_ATTEMPTS_PER_EMAIL="1000000",
        LOGIN_ATTEMPTS_PER_ADDRESS="1000000",
        SIGNUPS_PER_ADDRESS="1000000",
    )
    return env


class Server(Process):
    """A Rapport server (serve.py) or a bare baseline (uvicorn bench.baseline:app)."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        *,
        bare: bool,
        argv: list[str] | None = None,
    ) -> None:
        self.port = int(env["PORT"])
        if argv is not None:
            pass
        elif bare:
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.baseline:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
        else:
            argv = [sys.executable, "serve.py"]
        super().__init__(name, argv, env)

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        request = (
            f"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:{self.port}\r\n\r\n".encode()
        )
        while time.monotonic() < deadline:
            if not self.alive():
                break
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(request)
                line = await asyncio.wait_for(reader.readline(), 2)
                writer.close()
                if b" 200 " in line:
                    return
            except (TimeoutError, OSError):
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")


def rapport_server(
    name: str,
    database_url: str,
    redis_url: str,
    secret: str,
    argv: list[str] | None = None,
) -> Server:
    env = rapport_env(database_url, redis_url, secret, free_port())
    return Server(name, env, bare=False, argv=argv)


def bare_server(name: str, database_url: str, redis_url: str) -> Server:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PORT=str(free_port()),
    )
    return Server(name, env, bare=True)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
