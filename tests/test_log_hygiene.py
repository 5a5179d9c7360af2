"""A full run at DEBUG, access logs on: no token, password, feed secret or body."""

import io
import json
import logging
import os
import re
import secrets
from pathlib import Path

import httpx
import pytest

import observability
from schema.ids import from_global_id
from schema.pagination import encode_cursor
from settings import Settings
from tests.e2e.cluster import ServerProcess
from tests.subscriptions.support import WsClient

SIGN_UP = """
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }
"""
LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token }
}
"""
PROFILE = """
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
MY_PROVIDER = "{ viewer { provider { id } } }"
BOOK = """
mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { id thread { id } }
}
"""
SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id body } }
"""
READ = """
query Read($id: ID!) { thread(id: $id) { messages { edges { node { body } } } } }
"""
MESSAGE_ADDED = """
subscription($id: ID!, $after: String) {
  messageAdded(threadId: $id, after: $after) { body }
}
"""
CALENDAR = "{ viewer { calendarUrl } }"
LOG_OUT = "mutation { logOut }"

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


async def call(http, query, variables=None, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def sign_up_input(email: str, password: str, role: str) -> dict:
    return {
        "input": {
            "email": email,
            "password": password,
            "name": f"Hygiene {role.title()}",
            "role": role,
            "timezone": "America/New_York",
        }
    }


@pytest.fixture
def server(tmp_path: Path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{tmp_path}/hygiene.db",
        "SEED_DEMO_DATA": "false",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "LOG_LEVEL": "debug",
        "LOG_JSON": "true",
        "UVICORN_ACCESS_LOG": "true",
    }
    for name in ("REDIS_URL", "RAPPORT_REQUIRE_SERVICES"):
        env.pop(name, None)
    process = ServerProcess(env=env, log_path=tmp_path / "server.log")
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def test_a_full_run_logs_no_token_password_secret_or_body(server):
    secrets_seen: dict[str, str] = {}
    client_password = "client-" + secrets.token_hex(8)
    provider_password = "provider-" + secrets.token_hex(8)
    client_email = f"client.{secrets.token_hex(4)}@example.test"
    first_body = "I have been feeling anxious " + secrets.token_hex(6)
    reply_body = "Let us talk about it " + secrets.token_hex(6)

    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        # sign up and log in
        provider = await call(
            http,
            SIGN_UP,
            sign_up_input(
                f"p.{secrets.token_hex(4)}@example.test", provider_password, "PROVIDER"
            ),
        )
        client = await call(
            http, SIGN_UP, sign_up_input(client_email, client_password, "CLIENT")
        )
        logged_in = await call(
            http, LOG_IN, {"email": client_email, "password": client_password}
        )
        wrong = await http.post(
            "/graphql",
            json={
                "query": LOG_IN,
                "variables": {
                    "email": client_email,
                    "password": "wrong-" + client_password,
                },
            },
        )
        provider_token = provider["signUp"]["token"]
        client_token = logged_in["logIn"]["token"]
        assert wrong.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        # the provider opens their calendar; the client books
        await call(http, PROFILE, ALL_WEEK, provider_token)
        provider_id = (await call(http, MY_PROVIDER, token=provider_token))["viewer"][
            "provider"
        ]["id"]
        slot = (await call(http, NEXT_SLOT, {"id": provider_id}))["provider"][
            "nextAvailableSlot"
        ]
        booked = await call(
            http,
            BOOK,
            {
                "input": {
                    "providerId": provider_id,
                    "startsAt": slot["startsAt"],
                    "format": "PHONE",
                }
            },
            client_token,
        )
        thread_id = booked["bookAppointment"]["thread"]["id"]

        # messages, live and stored
        socket = await WsClient.open(server.ws)
        await socket.init(client_token)
        # From the thread's start, so no message can slip past the subscribe.
        start = encode_cursor("m", int(from_global_id(thread_id)[1]), 0)
        await socket.subscribe("1", MESSAGE_ADDED, {"id": thread_id, "after": start})
        await call(
            http,
            SEND,
            {"input": {"threadId": thread_id, "body": first_body}},
            client_token,
        )
        await call(
            http,
            SEND,
            {"input": {"threadId": thread_id, "body": reply_body}},
            provider_token,
        )
        bodies = set()
        while len(bodies) < 2:
            bodies.add((await socket.next_data())["data"]["messageAdded"]["body"])
        await socket.complete("1")
        await socket.close()
        read = await call(http, READ, {"id": thread_id}, provider_token)
        assert [e["node"]["body"] for e in read["thread"]["messages"]["edges"]] == [
            first_body,
            reply_body,
        ]

        # the calendar feed, by its secret URL; a GET query with a token in it
        feed_url = (await call(http, CALENDAR, token=client_token))["viewer"][
            "calendarUrl"
        ]
        feed = await http.get(httpx.URL(feed_url).path)
        assert feed.status_code == 200
        await http.get(
            "/graphql",
            params={
                "query": "{ viewer { user { id } } }",
                "variables": json.dumps({"password": client_password}),
            },
            headers={"authorization": f"Bearer {client_token}"},
        )

        await call(http, LOG_OUT, token=client_token)
        await call(http, LOG_OUT, token=provider_token)

    secrets_seen = {
        "client token": client_token,
        "signup token": client["signUp"]["token"],
        "provider token": provider_token,
        "client password": client_password,
        "provider password": provider_password,
        "calendar secret": feed_url.rsplit("/", 1)[1].removesuffix(".ics"),
        "first message": first_body,
        "reply": reply_body,
        "client email": client_email,
    }
    server.stop()
    log = server.log_path.read_text()

    # then nothing secret is in the log, whoever wrote the line
    for name, value in secrets_seen.items():
        assert value not in log, f"the {name} appears in the server log"
    assert not JWT.search(log), "a JWT appears in the server log"
    # and the log is useful: JSON lines with request ids, operations, durations
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(lines) > 20
    access = [line for line in lines if line["logger"] == "rapport.access"]
    operations = {line.get("operation") for line in access}
    assert "mutation:sendMessage" in operations
    assert all(line["request_id"] != "-" for line in access)
    assert all(isinstance(line["duration_ms"], float) for line in access)
    feed_lines = [line for line in lines if "/calendar/" in line["message"]]
    assert feed_lines and all("[redacted]" in line["message"] for line in feed_lines)
    uvicorn_access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert uvicorn_access, "uvicorn's access log was asked for"
    assert any("GET /graphql?[redacted]" in line["message"] for line in uvicorn_access)
    assert not [line for line in log.splitlines() if not line.startswith("{")], (
        "every line is JSON"
    )


def redacted(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = observability.make_handler(Settings(log_json=False), stream)
    handler.handle(record)
    return stream.getvalue()


@pytest.mark.parametrize(
    ("name", "msg", "args", "secret"),
    [
        (
            "uvicorn.access",
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5", "GET", "/calendar/AbC123xyz_-AbC123xyz.ics", "1.1", 200),
            "AbC123xyz_-AbC123xyz",
        ),
        (
            "uvicorn.access",
            '%s - "%s %s HTTP/%s" %d',
            (
                "127.0.0.1:5",
                "GET",
                "/graphql?query=%7B%7D&variables=%7B%22password%22%3A%22hunter22%22%7D",
                "1.1",
                200,
            ),
            "hunter22",
        ),
        (
            "tortoise.db_client",
            "%s: %s",
            ("INSERT INTO messages (body) VALUES (?)", ["my private words"]),
            "my private words",
        ),
        (
            "tortoise.db_client",
            "Created connection pool %s with params: %s",
            ("pool", {"password": "pg-secret-1", "user": "postgres"}),
            "pg-secret-1",
        ),
        (
            "app",
            "Connecting to %s",
            ("postgres://app:pg-secret-2@db:5432/x",),
            "pg-secret-2",
        ),
        (
            "app",
            "Header %s",
            ("Authorization: Bearer opaque-token-3",),
            "opaque-token-3",
        ),
        (
            "app",
            "Payload %s",
            ('{"password": "pw-4", "email": "x@example.test"}',),
            "pw-4",
        ),
        (
            "strawberry.execution",
            "%s",
            (
                'Syntax Error: Unexpected Name.\n\n'
                'GraphQL request:2:41\n'
                '1 | mutation {\n'
                '2 |   sendMessage(input: {topic: OTHER, x: "my-private-words" y})\n'
                '  |                                         ^',
            ),
            "my-private-words",
        ),
        (
            "app",
            "Document %s",
            ('{ a(body: """line one\nmy-block-secret\n""") }',),
            "my-block-secret",
        ),
        (
            "app",
            "Payload %s",
            ('{"body": "an \\"escaped\\" my-escaped-secret"}',),
            "my-escaped-secret",
        ),
        (
            "rapport.access",
            "Request method=GET path=%s status=404",
            ("/calendar/dhgoqLQL953u6TaD6jSpPjVS9h5jK5ym.ICS",),
            "dhgoqLQL953u6TaD6jSpPjVS9h5jK5ym",
        ),
    ],
)
def test_records_from_any_logger_are_scrubbed(name, msg, args, secret):
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)

    line = redacted(record)

    assert secret not in line
    assert "[redacted]" in line or line == ""


@pytest.mark.parametrize("name", ["aiosqlite", "asyncpg", "websockets.server"])
def test_library_debug_lines_that_carry_data_are_dropped(name):
    record = logging.LogRecord(
        name, logging.DEBUG, __file__, 1, "executing %s", ("partial(body='hi')",), None
    )

    assert redacted(record) == ""


def test_websocket_frame_traces_are_dropped_whatever_logger_writes_them():
    frame = "TEXT '{\"id\": \"3\", \"payload\": {\"q...WSPASSWORD-hunter22\"}}}'"
    record = logging.LogRecord(
        "uvicorn.error", logging.DEBUG, __file__, 1, "< %s", (frame,), None
    )

    assert redacted(record) == ""


def test_emails_go_but_package_versions_in_asset_paths_stay_readable():
    text = "GET /static/graphiql/graphiql@4.0.2/x.js for ana.lima+rx@clinic.example.org"

    record = logging.LogRecord("app", logging.INFO, __file__, 1, text, None, None)

    line = redacted(record)
    assert "GET /static/graphiql/graphiql@4.0.2/x.js" in line
    assert "ana.lima" not in line and "[email]" in line
