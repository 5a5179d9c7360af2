"""Faults: no database at start, the database lost mid-run, clients that vanish."""

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from schema.errors import API_CODES
from tests.e2e.cluster import (
    ROOT,
    ServerProcess,
    create_database,
    drop_database,
    postgres_admin_url,
)
from tests.subscriptions.support import WsClient, free_port, until

SIGN_UP = """
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token } }
"""
SETUP = """
mutation Open($windows: [AvailabilityWindowInput!]!) {
  updateProviderProfile(input: {acceptingNewClients: true, minimumNoticeHours: 0})
  { id }
  setWeeklyAvailability(windows: $windows) { id }
}
"""
ALL_WEEK = {
    "windows": [
        {"weekday": day, "start": "00:00", "end": "24:00"} for day in range(1, 8)
    ]
}
NEXT_SLOT = "query($id: ID!) { provider(id: $id) { nextAvailableSlot { startsAt } } }"
BOOK = """
mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { thread { id } }
}
"""
SEND = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { id body cursor }
}
"""
MESSAGE_ADDED = """
subscription($id: ID!, $after: String) {
  messageAdded(threadId: $id, after: $after) { body }
}
"""
DIRECTORY = "{ providers { edges { node { name } } } }"


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEED_DEMO_DATA": "false",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "LOG_LEVEL": "info",
        "DATABASE_START_TIMEOUT_SECONDS": "10",
        **extra,
    }
    for name in ("REDIS_URL", "RAPPORT_REQUIRE_SERVICES"):
        env.pop(name, None)
    return env


# ---------------------------------------------------------------------------
# The database is not there at start.


@pytest.mark.parametrize(
    "database_url",
    [
        "postgres://rapport:start-secret-1@127.0.0.1:{port}/rapport",
        "sqlite:///no/such/folder/rapport.db",
    ],
    ids=["postgres-refused", "sqlite-unopenable"],
)
def test_no_database_at_start_is_a_clear_message_and_a_failing_exit(
    tmp_path, database_url
):
    url = database_url.format(port=free_port())

    run = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", str(free_port())],
        cwd=ROOT,
        env=server_env(url),
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Cannot reach the database at " in output
    assert "Check DATABASE_URL" in output
    assert "Traceback" not in output
    assert "start-secret-1" not in output


# ---------------------------------------------------------------------------
# The database goes away mid-run and comes back.


class CuttableProxy:
    """A TCP relay to PostgreSQL that can drop every connection and refuse more."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.Transport] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for transport in list(self.links):
            transport.abort()  # a reset, as a crashed server or network gives
        self.links.clear()
        await self.server.wait_closed()
        self.server = None

    async def _relay(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer.transport, up_writer.transport}
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer)
        )

    async def _pump(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            self.links.discard(writer.transport)


@pytest.fixture
async def postgres_behind_a_proxy(
    tmp_path,
) -> AsyncIterator[tuple[str, str, CuttableProxy]]:
    admin = postgres_admin_url()  # skips unless PostgreSQL is asked for
    name = f"rapport_faults_{os.getpid()}"
    await create_database(admin, name)
    direct = admin.rsplit("/", 1)[0] + f"/{name}"
    port = int(httpx.URL(direct.replace("postgres://", "http://", 1)).port or 5432)
    proxy = CuttableProxy(port)
    await proxy.open()
    through_proxy = f"postgres://postgres@127.0.0.1:{proxy.port}/{name}"
    try:
        yield direct, through_proxy, proxy
    finally:
        if proxy.server is not None:
            await proxy.cut()
        await drop_database(admin, name)


async def call(http, query, variables=None, token=None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
    )
    assert response.headers["content-type"] == "application/json", response.text
    return response.json()


async def sign_up(http, role: str) -> str:
    body = await call(
        http,
        SIGN_UP,
        {
            "input": {
                "email": f"{role.lower()}.{secrets.token_hex(4)}@example.test",
                "password": "long enough",
                "name": role.title(),
                "role": role,
                "timezone": "UTC",
            }
        },
    )
    return body["data"]["signUp"]["token"]


async def open_thread(http) -> tuple[str, str, str]:
    """A provider open all week, a client who booked them: tokens and thread."""
    provider = await sign_up(http, "PROVIDER")
    client = await sign_up(http, "CLIENT")
    setup = await call(http, SETUP, ALL_WEEK, provider)
    provider_id = setup["data"]["updateProviderProfile"]["id"]
    slot = await call(http, NEXT_SLOT, {"id": provider_id})
    booked = await call(
        http,
        BOOK,
        {
            "input": {
                "providerId": provider_id,
                "startsAt": slot["data"]["provider"]["nextAvailableSlot"]["startsAt"],
                "format": "PHONE",
            }
        },
        client,
    )
    return client, provider, booked["data"]["bookAppointment"]["thread"]["id"]


def message(thread_id: str, body: str, key: str | None = None) -> dict:
    return {"input": {"threadId": thread_id, "body": body, "clientMessageId": key}}


async def test_losing_the_database_mid_run_fails_coded_and_recovers_losing_nothing(
    postgres_behind_a_proxy, tmp_path
):
    direct, through_proxy, proxy = postgres_behind_a_proxy
    server = ServerProcess(
        env=server_env(through_proxy), log_path=tmp_path / "server.log"
    )
    server.start()
    try:
        # the proxy lives on this loop: wait for the server off it
        await asyncio.to_thread(server.wait_ready)
        async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
            # given a conversation under way
            client, provider, thread_id = await open_thread(http)
            acknowledged = []
            sent = await call(http, SEND, message(thread_id, "before"), client)
            acknowledged.append(sent["data"]["sendMessage"]["body"])

            # when the database goes away
            await proxy.cut()
            during = [
                await call(http, SEND, message(thread_id, f"during {n}"), client)
                for n in range(3)
            ]
            public = await call(http, DIRECTORY)
            ready_during = (await http.get("/readyz")).status_code
            alive_during = (await http.get("/healthz")).status_code

            # and comes back
            await proxy.open()
            await until(lambda: _status(http, "/readyz", 200), timeout=30, interval=0.2)
            for n in range(3):
                sent = await call(http, SEND, message(thread_id, f"after {n}"), client)
                assert "errors" not in sent, sent
                acknowledged.append(sent["data"]["sendMessage"]["body"])
            listed = await call(http, DIRECTORY)
    finally:
        # Off the loop too: closing its pool, the server talks through the proxy.
        await asyncio.to_thread(server.stop)

    # then during the outage every answer was coded, and said nothing inside
    for body in [*during, public]:
        codes = {error["extensions"]["code"] for error in body["errors"]}
        assert codes <= API_CODES, body
        assert "INTERNAL" in codes
        assert "asyncpg" not in str(body) and "Traceback" not in str(body)
    assert (ready_during, alive_during) == (503, 200)
    assert "errors" not in listed
    # and every message that was acknowledged is stored, in order, once
    conn = await asyncpg.connect(direct)
    try:
        stored = [
            row["body"]
            for row in await conn.fetch("SELECT body FROM messages ORDER BY seq")
        ]
    finally:
        await conn.close()
    assert stored == acknowledged


async def _status(http: httpx.AsyncClient, path: str, wanted: int) -> bool:
    try:
        return (await http.get(path)).status_code == wanted
    except httpx.TransportError:
        return False


# ---------------------------------------------------------------------------
# Clients that disconnect mid-request or mid-subscription.


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory) -> ServerProcess:
    """One server for the disconnect tests; each opens its own thread."""
    directory = tmp_path_factory.mktemp("faults")
    server = ServerProcess(
        env=server_env(f"sqlite://{directory}/faults.db"),
        log_path=directory / "server.log",
    )
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def raw_request(port: int, payload: bytes) -> None:
    """Send bytes and hang up without reading a reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_RDWR)


async def test_a_client_that_hangs_up_mid_body_or_mid_request_harms_nothing(
    sqlite_server,
):
    server = sqlite_server
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        client, provider, thread_id = await open_thread(http)

        # a body cut short: 10 of the 1,000 bytes announced
        raw_request(
            server.port,
            (
                b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"query":'
            ),
        )
        # a whole mutation, then gone before the answer; then the client retries
        document = json.dumps(
            {"query": SEND, "variables": message(thread_id, "retried", key="k-1")}
        ).encode()
        raw_request(
            server.port,
            (
                b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\n"
                b"Authorization: Bearer " + client.encode() + b"\r\n"
                b"Content-Length: "
                + str(len(document)).encode()
                + b"\r\n\r\n"
                + document
            ),
        )
        retried = await call(
            http, SEND, message(thread_id, "retried", key="k-1"), client
        )
        read = await call(
            http,
            "query($id: ID!) { thread(id: $id) "
            "{ messages { edges { node { body } } } } }",
            {"id": thread_id},
            provider,
        )
        served = await call(http, DIRECTORY)

    log = server.log_path.read_text()
    assert "errors" not in retried and "errors" not in served
    bodies = [e["node"]["body"] for e in read["data"]["thread"]["messages"]["edges"]]
    assert bodies == ["retried"]  # stored once, whether the first try landed or not
    assert "Traceback" not in log
    assert " ERROR " not in log


async def test_a_subscriber_that_vanishes_leaves_nothing_behind(sqlite_server):
    server = sqlite_server
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        client, provider, thread_id = await open_thread(http)

        async def live() -> tuple[str, str]:
            text = (await http.get("/metrics")).text
            lines = [
                line
                for line in text.splitlines()
                if line.startswith(
                    (
                        "rapport_websocket_connections ",
                        'rapport_subscriptions_active{operation="messageAdded"}',
                    )
                )
            ]
            return tuple(line.rsplit(" ", 1)[1] for line in lines)

        # given a provider subscribed to the thread
        socket_ = await WsClient.open(server.ws)
        await socket_.init(provider)
        await socket_.subscribe("1", MESSAGE_ADDED, {"id": thread_id})
        await until(lambda: _equals(live(), ("1.0", "1.0")))

        # when the network drops the connection, without complete or close
        socket_.drop()
        await until(lambda: _equals(live(), ("0.0", "0.0")))

        # then messages still go out, and the server stays well
        sent = await call(http, SEND, message(thread_id, "after the drop"), client)
        # (from the last message seen: whatever comes next arrives, live or
        # replayed, however the subscribe and the send interleave)
        cursor = sent["data"]["sendMessage"]["cursor"]
        other = await WsClient.open(server.ws)
        await other.init(provider)
        await other.subscribe("2", MESSAGE_ADDED, {"id": thread_id, "after": cursor})
        await call(http, SEND, message(thread_id, "to the new socket"), client)
        delivered = await other.next_data()
        await other.close()

    assert "errors" not in sent
    assert delivered["data"]["messageAdded"]["body"] == "to the new socket"
    assert "Traceback" not in server.log_path.read_text()


async def _equals(pending, wanted) -> bool:
    return await pending == wanted
