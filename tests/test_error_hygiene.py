"""Every failure has an API.md code; no internals reach a client; one log each."""

import io
import logging
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

import observability
from app import create_app
from resolvers import auth, providers
from schema.errors import API_CODES
from settings import Settings

# What a client must never read: stack traces, SQL, the names of our libraries.
LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|line \d+, in|SELECT |INSERT INTO|UPDATE \w+ SET|"
    r"DELETE FROM|\bWHERE\b|sqlite|asyncpg|aiosqlite|tortoise|strawberry|"
    r"starlette|uvicorn|pydantic|orjson|broadcaster|\bredis\b|psycopg|"
    r"IntegrityError|OperationalError|KeyError|AttributeError|RuntimeError",
    re.IGNORECASE,
)
DIRECTORY = "{ providers { edges { node { name } } } }"
WITH_AT = (
    "query($at: DateTime!) { providers(filter: "
    "{availableFrom: $at, availableTo: $at}) { edges { cursor } } }"
)

# (name, request): each a way a client can get something wrong.
BAD_REQUESTS: list[tuple[str, dict]] = [
    ("syntax", {"json": {"query": "{ providers("}}),
    ("unknown field", {"json": {"query": "{ nope }"}}),
    ("missing argument", {"json": {"query": "{ provider { id } }"}}),
    (
        "wrong literal",
        {"json": {"query": '{ providers(first: "x") { edges { cursor } } }'}},
    ),
    ("bad variable", {"json": {"query": WITH_AT, "variables": {"at": "tuesday"}}}),
    (
        "no offset",
        {"json": {"query": WITH_AT, "variables": {"at": "2027-03-15T09:00"}}},
    ),
    (
        "huge int",
        {"json": {"query": "{ providers(first: 99999999999) { edges { cursor } } }"}},
    ),
    (
        "negative page",
        {"json": {"query": "{ providers(first: -1) { edges { cursor } } }"}},
    ),
    (
        "bad cursor",
        {"json": {"query": '{ providers(after: "%%%") { edges { cursor } } }'}},
    ),
    (
        "forged cursor",
        {
            "json": {
                "query": '{ providers(after: "WzEsMiwzXQ==") { edges { cursor } } }'
            }
        },
    ),
    ("bad id", {"json": {"query": 'mutation { cancelAppointment(id: "x") { id } }'}}),
    ("no token", {"json": {"query": "mutation { logOut }"}}),
    (
        "bad token",
        {"json": {"query": DIRECTORY}, "headers": {"authorization": "Bearer nope"}},
    ),
    (
        "wrong scheme",
        {"json": {"query": DIRECTORY}, "headers": {"authorization": "Basic eDp5"}},
    ),
    (
        "staff sign-up",
        {
            "json": {
                "query": 'mutation { signUp(input: {email: "s@x.io", '
                'password: "long enough", name: "S", role: STAFF, timezone: "UTC"}) '
                "{ token } }"
            }
        },
    ),
    (
        "bad time zone",
        {
            "json": {
                "query": 'mutation { signUp(input: {email: "t@x.io", '
                'password: "long enough", name: "T", role: CLIENT, '
                'timezone: "Mars/Base"}) { token } }'
            }
        },
    ),
    (
        "wrong password",
        {
            "json": {
                "query": 'mutation { logIn(email: "no@x.io", password: "guess") '
                "{ token } }"
            }
        },
    ),
    (
        "subscription over http",
        {"json": {"query": "subscription { inboxUpdated { id } }"}},
    ),
    (
        "unknown operation name",
        {"json": {"query": "query A { __typename }", "operationName": "B"}},
    ),
    (
        "mutation over get",
        {"params": {"query": "mutation { logOut }"}, "method": "GET"},
    ),
    (
        "malformed json",
        {"content": b'{"query": ', "headers": {"content-type": "application/json"}},
    ),
    ("not json", {"content": b"query", "headers": {"content-type": "text/plain"}}),
    ("batch", {"json": [{"query": DIRECTORY}]}),
    ("variables not an object", {"json": {"query": DIRECTORY, "variables": [1]}}),
    ("no query", {"json": {"variables": {}}}),
    ("query not a string", {"json": {"query": 5}}),
    (
        "nul as a braced escape",
        {"json": {"query": '{ insurancePlans(search: "a\\u{0}b") { id } }'}},
    ),
    (
        "nul raw in a block string",
        {"json": {"query": '{ insurancePlans(search: """a\x00b""") { id } }'}},
    ),
    (
        "nul in a cursor",
        # base64url of ["\u0000", 1]
        {
            "json": {
                "query": '{ providers(after: "WyJcdTAwMDAiLDFd") { edges { cursor } } }'
            }
        },
    ),
    (
        "non-ascii digits in an id",
        # base64 of "Provider:²"
        {
            "json": {
                "query": "mutation { bookAppointment(input: {providerId: "
                '"UHJvdmlkZXI6wrI=", startsAt: "2027-06-15T14:00:00Z", '
                "format: PHONE}) { id } }"
            }
        },
    ),
    (
        "an id past the integer columns",
        # base64 of "Appointment:999999999999999999"
        {
            "json": {
                "query": "mutation { cancelAppointment(id: "
                '"QXBwb2ludG1lbnQ6OTk5OTk5OTk5OTk5OTk5OTk5") { id } }'
            }
        },
    ),
    (
        "a date-time literal that overflows in UTC",
        {
            "json": {
                "query": "{ providers(filter: {availableFrom: "
                '"0001-01-01T00:00:00+01:00", availableTo: '
                '"9999-12-31T23:00:00-05:00"}) { edges { cursor } } }'
            }
        },
    ),
    (
        "too large",
        {
            "content": b'{"query": "' + b" " * 1_100_000 + b'{ __typename }"}',
            "headers": {"content-type": "application/json"},
        },
    ),  # noqa: E501
]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    """What the server writes to its log, through its own handler."""
    stream = io.StringIO()
    handler = observability.make_handler(Settings(log_json=False), stream)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


async def send(http: httpx.AsyncClient, request: dict) -> httpx.Response:
    request = dict(request)
    method = request.pop("method", "POST")
    return await http.request(method, "/graphql", **request)


@pytest.mark.parametrize(
    ("name", "request_"), BAD_REQUESTS, ids=[n for n, _ in BAD_REQUESTS]
)
async def test_every_failure_carries_an_api_code_and_no_internals(http, name, request_):
    response = await send(http, request_)

    assert response.headers["content-type"] == "application/json", name
    errors = response.json()["errors"]
    assert errors, name
    for error in errors:
        assert error["extensions"]["code"] in API_CODES, (name, error)
        assert error["message"].strip(), name
    assert not LEAKS.search(response.text), (name, response.text)
    assert response.headers.get("x-request-id")


async def test_an_unexpected_error_is_internal_and_logged_once_with_the_request_id(
    http, server_log, monkeypatch
):
    # given a resolver that fails with driver-ish details
    async def broken(*args, **kwargs):
        raise RuntimeError("boom near SELECT * FROM users WHERE id = 1")

    monkeypatch.setattr(providers, "list_providers", broken)

    # when
    response = await http.post(
        "/graphql", json={"query": DIRECTORY}, headers={"x-request-id": "req-7f3a"}
    )

    # then the client learns only that it failed, and which request it was
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL"}
    assert error["message"] == "Something went wrong on our side; it has been logged."
    assert not LEAKS.search(response.text)
    assert "boom" not in response.text
    assert response.headers["x-request-id"] == "req-7f3a"
    # and the server logged it once, with the traceback and the request id
    log = server_log.getvalue()
    assert log.count("Traceback") == 1
    assert log.count("Unexpected error path=providers") == 1
    line = next(line for line in log.splitlines() if "Unexpected error" in line)
    assert "[req-7f3a]" in line
    assert "RuntimeError: boom" in log


async def test_a_failure_outside_graphql_is_a_json_internal_error(
    http, server_log, monkeypatch
):
    # given a failure before the schema runs (reading the token)
    async def broken(token):
        raise RuntimeError("connection pool exploded")

    monkeypatch.setattr(auth, "authenticate", broken)

    # when
    response = await http.post(
        "/graphql",
        json={"query": DIRECTORY},
        headers={"authorization": "Bearer abc", "x-request-id": "req-9"},
    )

    # then
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Something went wrong on our side; it has been logged.",
                "extensions": {"code": "INTERNAL"},
            }
        ]
    }
    log = server_log.getvalue()
    assert log.count("Traceback") == 1
    assert "[req-9]" in log
    assert "exploded" not in response.text


async def test_an_unreachable_database_is_503_not_a_stack_trace(
    http, server_log, monkeypatch
):
    async def unreachable(token):
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    monkeypatch.setattr(auth, "authenticate", unreachable)

    response = await http.post(
        "/graphql", json={"query": DIRECTORY}, headers={"authorization": "Bearer abc"}
    )

    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert "5432" not in response.text
    assert "Dependency unavailable" in server_log.getvalue()
    assert "Traceback" not in server_log.getvalue()


async def test_expected_errors_are_not_logged_as_incidents(http, server_log):
    for _, request in BAD_REQUESTS:
        await send(http, request)

    log = server_log.getvalue()
    assert "Traceback" not in log
    assert " ERROR " not in log
