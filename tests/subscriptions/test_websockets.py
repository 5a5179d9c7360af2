"""Subscriptions over real websockets, on both protocols (CASES.md 9, 10, 11)."""

import asyncio
import os
import secrets
from datetime import timedelta

import httpx
import jwt
import pytest
import redis

import clock
import models
from resolvers.auth import TOKEN_ALGORITHM, issue_token
from schema.pagination import encode_cursor
from settings import get_settings
from subscriptions import broker
from subscriptions.channels import thread_channel
from tests.conftest import gid, make_user
from tests.subscriptions.messaging import participants, send
from tests.subscriptions.support import LEGACY_WS, TRANSPORT_WS, WsClient, until

PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])

MESSAGE_ADDED = """
subscription Added($threadId: ID!, $after: String) {
  messageAdded(threadId: $threadId, after: $after) { body cursor }
}
"""

INBOX = "subscription { inboxUpdated { id } }"

SCHEDULE = "subscription { scheduleChanged { type } }"

def ws_url(live_server: str) -> str:
    return f"ws://{live_server}/graphql"


def thread_variables(thread, after: str | None = None) -> dict:
    return {"threadId": gid("MessageThread", thread.id), "after": after}


async def token_for(user: models.User, lifetime: timedelta | None = None) -> str:
    """A bearer token; with `lifetime`, one whose session ends that soon."""
    if lifetime is None:
        return await issue_token(user)
    issued = clock.now()
    session = await models.Session.create(
        id=secrets.token_urlsafe(16),
        user=user,
        created_at=issued,
        expires_at=issued + lifetime,
    )
    claims = {
        "sub": str(user.id),
        "sid": session.id,
        "iat": issued,
        "exp": issued + lifetime,
    }
    return jwt.encode(claims, get_settings().secret_key, algorithm=TOKEN_ALGORITHM)


def error_code(message: dict) -> str:
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else [payload]
    return errors[0]["extensions"]["code"]


@PROTOCOLS
@pytest.mark.parametrize("key", ["authorization", "Authorization", "AUTHORIZATION"])
async def test_a_valid_token_is_acknowledged(live_server, protocol, key):
    user = await make_user()
    socket = await WsClient.open(ws_url(live_server), protocol)

    await socket.init(await token_for(user), key=key)

    await socket.close()


@PROTOCOLS
@pytest.mark.parametrize("kind", ["malformed", "expired", "revoked"])
async def test_a_bad_token_is_refused_without_an_ack(live_server, protocol, kind):
    # given
    user = await make_user()
    if kind == "malformed":
        token = "not-a-token"
    elif kind == "expired":
        token = await token_for(user, lifetime=timedelta(seconds=-5))
    else:
        token = await token_for(user)
        await models.Session.filter(user_id=user.id).update(revoked_at=clock.now())
    socket = await WsClient.open(ws_url(live_server), protocol)

    # when
    await socket.send(
        {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    )

    # then, within a second
    if protocol == LEGACY_WS:
        refusal = await socket.receive(timeout=1)
        assert refusal["type"] == "connection_error"
        assert await socket.closed_code(timeout=1) is not None
    else:
        assert await socket.closed_code(timeout=1) == 4403


@pytest.mark.parametrize("value", [123, True, {"token": "x"}, ["Bearer x"]])
async def test_an_authorization_that_is_not_text_is_refused(live_server, value):
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)

    await socket.send({"type": "connection_init", "payload": {"authorization": value}})

    assert await socket.closed_code(timeout=1) == 4403


@PROTOCOLS
async def test_a_participant_receives_messages(live_server, execute, protocol):
    client, provider_user, thread = await participants()
    socket = await WsClient.open(ws_url(live_server), protocol)
    await socket.init(await token_for(provider_user))
    await socket.subscribe("1", MESSAGE_ADDED, thread_variables(thread))
    await until(lambda: broker.subscription_count() > 0)
    await asyncio.sleep(0.1)

    await send(execute, thread, client, "hello")

    payload = await socket.next_data()
    assert payload["data"]["messageAdded"]["body"] == "hello"
    await socket.close()


@PROTOCOLS
async def test_a_forbidden_subscription_is_an_error_not_a_crash(
    live_server, execute, protocol
):
    # given an outsider with a working connection
    client, _, thread = await participants()
    await send(execute, thread, client, "private")
    outsider = await make_user(name="Outsider")
    socket = await WsClient.open(ws_url(live_server), protocol)
    await socket.init(await token_for(outsider))

    # when they ask for the thread (with a cursor that would replay history)
    from_the_start = encode_cursor("m", thread.id, 0)
    await socket.subscribe("1", MESSAGE_ADDED, thread_variables(thread, from_the_start))
    refusal = await socket.receive()
    await socket.subscribe("2", INBOX)
    await socket.subscribe("3", SCHEDULE)
    await send(execute, thread, client, "still private")

    # then FORBIDDEN as the protocol's error, and the connection still serves
    # them while carrying nothing of the thread
    assert refusal["type"] == "error"
    assert refusal["id"] == "1"
    assert error_code(refusal) == "FORBIDDEN"
    with pytest.raises(asyncio.TimeoutError):
        await socket.receive(timeout=0.5)
    await socket.close()


@PROTOCOLS
async def test_logging_out_ends_the_connection(live_server, protocol):
    # given a connection subscribed with a token
    client, provider_user, thread = await participants()
    token = await token_for(provider_user)
    socket = await WsClient.open(ws_url(live_server), protocol)
    await socket.init(token)
    await socket.subscribe("1", MESSAGE_ADDED, thread_variables(thread))

    # when that token logs out over HTTP
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        response = await http.post(
            "/graphql",
            json={"query": "mutation { logOut }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.json()["data"] == {"logOut": True}

    # then the server closes the socket with 4403
    assert await socket.closed_code(timeout=3) == 4403


async def test_a_session_that_expires_ends_the_connection(live_server):
    _, provider_user, thread = await participants()
    token = await token_for(provider_user, lifetime=timedelta(seconds=2))
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init(token)
    await socket.subscribe("1", MESSAGE_ADDED, thread_variables(thread))

    assert await socket.closed_code(timeout=5) == 4403


async def test_dropped_sockets_leave_no_task_and_no_subscription(live_server, execute):
    # given a thread with one message, so every subscription proves itself by
    # replaying it before its socket goes
    client, provider_user, thread = await participants()
    await send(execute, thread, client, "first")
    from_the_start = encode_cursor("m", thread.id, 0)
    token = await token_for(provider_user)
    subscriptions_before = broker.subscription_count()

    async def cycle(n: int) -> None:
        protocol = TRANSPORT_WS if n % 2 else LEGACY_WS
        socket = await WsClient.open(ws_url(live_server), protocol)
        await socket.init(token)
        variables = thread_variables(thread, from_the_start)
        await socket.subscribe("1", MESSAGE_ADDED, variables)
        assert (await socket.next_data())["data"]["messageAdded"]["body"] == "first"
        if n % 3:
            socket.drop()  # the network goes: no complete, no close frame
        else:
            await socket.close()  # the client goes, still without complete

    # A first round trip starts whatever the server starts once per process.
    await cycle(0)
    await until(lambda: broker.subscription_count() == subscriptions_before)
    tasks_before = len(asyncio.all_tasks())

    # when 200 clients subscribe and vanish
    for n in range(1, 201):
        await cycle(n)

    # then within two seconds all is released, here and in Redis
    await until(lambda: broker.subscription_count() == subscriptions_before, timeout=2)
    await until(lambda: len(asyncio.all_tasks()) <= tasks_before, timeout=2)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        channel = thread_channel(thread.id)
        [(_, count)] = redis.Redis.from_url(redis_url).pubsub_numsub(channel)
        assert count == 0
