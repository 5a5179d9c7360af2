"""Throttles: logIn per email and per address, sendMessage per sender."""

import os
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest

import models
from app import create_app
from resolvers import throttles
from schema.context import Context
from settings import override_settings
from tests.conftest import PASSWORD, gid, make_provider, make_thread, make_user, utc

LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token }
}
"""
SEND = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { id }
}
"""
REDIS_URL = os.environ.get("REDIS_URL")


def credentials(email: str, password: str = "wrong password") -> dict:
    return {"email": email, "password": password}


def http_client(peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(), client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def log_in_over_http(http: httpx.AsyncClient, email: str, **headers) -> dict:
    body = {"query": LOG_IN, "variables": credentials(email)}
    return (await http.post("/graphql", json=body, headers=headers)).json()


def code_of(payload: dict) -> str:
    return payload["errors"][0]["extensions"]["code"]


@pytest.fixture
async def strict_login() -> AsyncIterator[None]:
    with override_settings(
        login_attempts_per_email=3,
        login_attempts_per_address=1000,
        login_window_seconds=300,
    ):
        yield


async def test_the_fourth_attempt_on_one_email_is_rate_limited(
    execute, now, strict_login
):
    # given
    now(utc(2027, 6, 1, 12, 0, 10))
    user = await make_user(email="target@example.test")
    for _ in range(3):
        wrong = await execute(LOG_IN, credentials(user.email))
        assert wrong.code == "UNAUTHENTICATED"

    # when even the right password arrives
    limited = await execute(LOG_IN, credentials(user.email, PASSWORD))

    # then
    assert limited.code == "RATE_LIMITED"
    error = limited.errors[0]
    # 290 s to the window's end, then 100 s until its 3 attempts, sliding
    # out, leave room for one more
    assert error["extensions"]["retryAfterSeconds"] == 390
    assert error["message"] == (
        "Too many log-in attempts for this account: try again in 7 minutes."
    )
    assert limited.data is None
    assert await models.Session.filter(user_id=user.id).count() == 1  # make_user's


async def test_the_count_is_per_email_and_case_blind(execute, now, strict_login):
    now(utc(2027, 6, 1, 12))
    await make_user(email="one@example.test")
    other = await make_user(email="two@example.test")
    for email in ("one@example.test", "ONE@example.test", " One@Example.test"):
        await execute(LOG_IN, credentials(email))

    same = await execute(LOG_IN, credentials("one@example.test", PASSWORD))
    different = await execute(LOG_IN, credentials(other.email, PASSWORD))

    assert same.code == "RATE_LIMITED"
    assert different.errors == []
    assert different.data["logIn"]["token"]


async def test_waiting_as_long_as_the_refusal_says_lets_the_person_in(
    execute, now, strict_login
):
    # given a refusal, after attempts on both sides of a window's boundary
    start = utc(2027, 6, 1, 12, 4, 0)
    now(start)
    user = await make_user(email="patient@example.test")
    for _ in range(2):
        await execute(LOG_IN, credentials(user.email))
    now(start + timedelta(seconds=90))
    await execute(LOG_IN, credentials(user.email))
    refused = await execute(LOG_IN, credentials(user.email, PASSWORD))
    wait = refused.errors[0]["extensions"]["retryAfterSeconds"]

    # when the person comes back a second early, then on time
    now(start + timedelta(seconds=90 + wait - 1))
    early = await execute(LOG_IN, credentials(user.email, PASSWORD))
    now(start + timedelta(seconds=90 + wait))
    on_time = await execute(LOG_IN, credentials(user.email, PASSWORD))

    # then the early try is refused (and not counted), the punctual one is in
    assert refused.code == early.code == "RATE_LIMITED"
    assert on_time.errors == []
    assert on_time.data["logIn"]["token"]


async def test_attempts_either_side_of_a_window_boundary_share_one_limit(
    execute, now, strict_login
):
    # given the limit used up a second before a fixed window ends
    user = await make_user(email="edge@example.test")
    now(utc(2027, 6, 1, 12, 4, 59))
    before = [await execute(LOG_IN, credentials(user.email)) for _ in range(3)]

    # when more come a second after it
    now(utc(2027, 6, 1, 12, 5, 1))
    after = await execute(LOG_IN, credentials(user.email, PASSWORD))

    # then they are still within the last 300 seconds' limit
    assert [r.code for r in before] == ["UNAUTHENTICATED"] * 3
    assert after.code == "RATE_LIMITED"


async def test_one_address_trying_many_emails_is_rate_limited(now):
    # given an address allowed two attempts
    now(utc(2027, 6, 1, 12))
    with override_settings(login_attempts_per_address=2, login_attempts_per_email=100):
        async with http_client("203.0.113.7") as http:
            # when it tries three different accounts
            codes = [
                code_of(await log_in_over_http(http, f"guess{i}@example.test"))
                for i in range(3)
            ]
        async with http_client("203.0.113.8") as neighbour:
            other = await log_in_over_http(neighbour, "guess9@example.test")

    # then
    assert codes == ["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]
    assert code_of(other) == "UNAUTHENTICATED"


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(now):
    now(utc(2027, 6, 1, 12))
    limits = {"login_attempts_per_address": 1, "login_attempts_per_email": 100}

    # An untrusted peer cannot shed its count by inventing addresses.
    with override_settings(trusted_proxies=[], **limits):
        async with http_client("198.51.100.1") as direct:
            first = await log_in_over_http(
                direct, "a@example.test", **{"x-forwarded-for": "192.0.2.1"}
            )
            second = await log_in_over_http(
                direct, "b@example.test", **{"x-forwarded-for": "192.0.2.2"}
            )
    # Behind our proxy, each client it names has a count of its own.
    with override_settings(trusted_proxies=["10.0.0.0/8"], **limits):
        async with http_client("10.0.0.5") as proxied:
            alice = await log_in_over_http(
                proxied, "c@example.test", **{"x-forwarded-for": "192.0.2.10"}
            )
            bob = await log_in_over_http(
                proxied, "d@example.test", **{"x-forwarded-for": "192.0.2.11"}
            )
            alice_again = await log_in_over_http(
                proxied, "e@example.test", **{"x-forwarded-for": "192.0.2.10"}
            )

    assert [code_of(first), code_of(second)] == ["UNAUTHENTICATED", "RATE_LIMITED"]
    assert code_of(alice) == code_of(bob) == "UNAUTHENTICATED"
    assert code_of(alice_again) == "RATE_LIMITED"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.1", "192.0.2.1", [], "198.51.100.1"),
        ("10.0.0.5", "192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        # A client's own spoofed entries sit left of the one our proxy added.
        ("10.0.0.5", "6.6.6.6, 192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.5", "192.0.2.1, 10.0.0.9", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.5", "10.0.0.7, 10.0.0.9", ["10.0.0.0/8"], "10.0.0.7"),
        ("10.0.0.5", "", ["10.0.0.5"], "10.0.0.5"),
        ("::1", "2001:db8::1", ["::1"], "2001:db8::1"),
    ],
)
def test_the_client_address_is_the_rightmost_untrusted_hop(
    peer, forwarded, trusted, expected
):
    request = SimpleNamespace(
        client=SimpleNamespace(host=peer),
        headers={"x-forwarded-for": forwarded} if forwarded else {},
    )

    with override_settings(trusted_proxies=trusted):
        address = throttles.client_address(Context(request=request))

    assert address == expected


async def test_a_sender_past_the_per_minute_limit_is_rate_limited(execute, now):
    # given
    now(utc(2027, 6, 1, 12, 0, 45))
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)

    def message(body: str) -> dict:
        return {"input": {"threadId": gid("MessageThread", thread.id), "body": body}}

    # when
    with override_settings(messages_per_minute=3):
        sent = [await execute(SEND, message(f"note {n}"), client) for n in range(3)]
        refused = await execute(SEND, message("one too many"), client)
        reply = await execute(SEND, message("the other side"), provider.user)

    # then
    assert [result.errors for result in sent] == [[], [], []]
    assert refused.code == "RATE_LIMITED"
    # 15 s to the minute's end, then 20 s more for its 3 messages to slide
    # out far enough
    assert refused.errors[0]["extensions"]["retryAfterSeconds"] == 35
    assert "sending messages too quickly" in refused.errors[0]["message"]
    assert reply.errors == []
    stored = await models.Message.filter(thread_id=thread.id).values_list(
        "body", flat=True
    )
    assert sorted(stored) == ["note 0", "note 1", "note 2", "the other side"]


async def test_the_limits_can_be_raised_for_tests_and_benchmarks(execute, now):
    now(utc(2027, 6, 1, 12))
    client = await make_user()
    thread = await make_thread(client)
    variables = {"input": {"threadId": gid("MessageThread", thread.id), "body": "x"}}

    with override_settings(messages_per_minute=10_000):
        results = [await execute(SEND, variables, client) for _ in range(70)]

    assert all(result.errors == [] for result in results)


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
async def test_counts_are_shared_by_every_process_through_redis():
    # Two stores with their own connections, as two server processes have.
    first = throttles.RedisCounters(REDIS_URL, throttles.MemoryCounters())
    second = throttles.RedisCounters(REDIS_URL, throttles.MemoryCounters())
    window = throttles.Window(
        current_key=throttles.KEY_PREFIX + "test:shared:2",
        previous_key=throttles.KEY_PREFIX + "test:shared:1",
        previous_weight=0.5,
        limit=3,
        ttl_seconds=121,
    )
    try:
        await first._client.set(window.previous_key, 2)
        taken = [
            await first.take(window),
            await second.take(window),
            await first.take(window),
        ]
        ttl = await first._client.ttl(window.current_key)
    finally:
        await first.clear()
        await first.close()
        await second.close()

    # 2 from before, weighted by half, leave room for 2 in this window
    assert taken == [(True, 1, 2), (True, 2, 2), (False, 2, 2)]
    assert 0 < ttl <= 121


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_redis_falls_back_to_counting_in_process(caplog):
    fallback = throttles.MemoryCounters()
    store = throttles.RedisCounters(f"redis://127.0.0.1:{dead_port()}/0", fallback)
    try:
        window = throttles.Window("rapport:throttle:test:down", "-", 0.0, 2, 60)
        taken = [await store.take(window) for _ in range(3)]
    finally:
        await store.close()

    assert taken == [(True, 1, 0), (True, 2, 0), (False, 2, 0)]
    assert "Throttle store unavailable" in caplog.text


SIGN_UP = """
mutation SignUp($email: String!) {
  signUp(input: {email: $email, password: "long enough", name: "N",
                 role: CLIENT, timezone: "UTC"}) { token }
}
"""


async def test_one_address_signing_up_again_and_again_is_rate_limited(now):
    # given an address allowed two sign-ups an hour
    now(utc(2027, 6, 1, 12))
    with override_settings(signups_per_address=2):
        async with http_client("203.0.113.20") as http:
            # when it signs up three times, the last with a taken email
            replies = [
                (
                    await http.post(
                        "/graphql",
                        json={"query": SIGN_UP, "variables": {"email": email}},
                    )
                ).json()
                for email in ("a@example.test", "b@example.test", "a@example.test")
            ]
        async with http_client("203.0.113.21") as neighbour:
            other = (
                await neighbour.post(
                    "/graphql",
                    json={"query": SIGN_UP, "variables": {"email": "c@example.test"}},
                )
            ).json()

    # then the third is refused before anything says whether the email exists
    assert [bool(r.get("data") and r["data"]["signUp"]) for r in replies[:2]] == [
        True,
        True,
    ]
    assert code_of(replies[2]) == "RATE_LIMITED"
    assert "sign-ups" in replies[2]["errors"][0]["message"]
    assert other["data"]["signUp"]["token"]
    assert await models.User.all().count() == 3
