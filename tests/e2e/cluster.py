"""Two server processes on one PostgreSQL database and one Redis of their own."""

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx

from tests.subscriptions.support import RedisServer, free_port, skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery"


def postgres_admin_url() -> str:
    """Where to create our database; skips unless PostgreSQL is asked for."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres", "asyncpg")):
        parts = urlparse(url.replace("asyncpg://", "postgres://", 1))
        return urlunparse(parts._replace(path="/postgres"))
    if os.environ.get("RAPPORT_REQUIRE_SERVICES") == "1":
        return DEFAULT_POSTGRES
    skip_or_fail("needs PostgreSQL: set DATABASE_URL or RAPPORT_REQUIRE_SERVICES=1")
    raise AssertionError("unreachable")


def database_url(admin_url: str, name: str) -> str:
    return urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))


async def create_database(admin_url: str, name: str) -> None:
    try:
        conn = await asyncpg.connect(admin_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        skip_or_fail(f"PostgreSQL is not reachable at {admin_url}: {error}")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class ServerProcess:
    """`python -m uvicorn app:app` on a free port, logging to a file."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log_tail()}")
            if self.readyz() == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.log_tail()}")

    def readyz(self) -> int | None:
        try:
            return httpx.get(f"{self.http}/readyz", timeout=2).status_code
        except httpx.TransportError:
            return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    servers: list[ServerProcess]
    redis: RedisServer
    database_url: str

    async def call(
        self,
        server: int,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """POST /graphql to one of the servers; the JSON body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.servers[server].http) as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers=headers,
                timeout=30,
            )
        return response.json()

    async def sign_up(self, server: int, role: str = "CLIENT") -> tuple[str, str]:
        """A new account: (token, user id)."""
        email = f"{role.lower()}-{secrets.token_hex(6)}@example.test"
        body = await self.call(
            server,
            """
            mutation SignUp($input: SignUpInput!) {
              signUp(input: $input) { token user { id } }
            }
            """,
            {
                "input": {
                    "email": email,
                    "password": PASSWORD,
                    "name": f"E2E {role.title()}",
                    "role": role,
                    "timezone": "UTC",
                }
            },
        )
        assert "errors" not in body, body
        payload = body["data"]["signUp"]
        return payload["token"], payload["user"]["id"]


def start_cluster(directory: Path, database: str) -> Cluster:
    redis = RedisServer(directory)
    redis.start()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis.url,
        "SEED_DEMO_DATA": "false",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ENV": "development",
        "LOG_LEVEL": "warning",
        # Many messages from one sender, and many sign-ups from one address,
        # in a few seconds is the point here.
        "MESSAGES_PER_MINUTE": "100000",
        "SIGNUPS_PER_ADDRESS": "100000",
    }
    env.pop("RAPPORT_REQUIRE_SERVICES", None)
    servers = [
        ServerProcess(env=env, log_path=directory / f"server-{n}.log") for n in (1, 2)
    ]
    try:
        # One after the other: each applies migrations at start.
        for server in servers:
            server.start()
            server.wait_ready()
    except BaseException:
        for server in servers:
            server.stop()
        redis.stop()
        raise
    return Cluster(servers=servers, redis=redis, database_url=database)


def stop_cluster(cluster: Cluster) -> None:
    for server in cluster.servers:
        server.stop()
    cluster.redis.stop()
