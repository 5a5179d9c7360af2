"""Redis goes away and comes back: mutations commit, readiness says so, nothing
is lost for a subscriber whose socket never dropped."""

import asyncio
import contextlib

import httpx

import models
from resolvers.auth import issue_token
from subscriptions import broker, redis_backend, sessions
from tests.conftest import gid, make_provider, make_thread, make_user
from tests.subscriptions.support import WsClient, until

MESSAGE_ADDED = """
subscription Added($threadId: ID!) { messageAdded(threadId: $threadId) { body } }
"""

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { body } }
"""


async def send(execute, thread, user, body: str) -> None:
    result = await execute(
        SEND,
        {"input": {"threadId": gid("MessageThread", thread.id), "body": body}},
        user,
    )
    assert result.errors == [], result.errors


async def test_a_live_subscriber_gets_what_was_sent_while_redis_was_down(
    own_redis_broker, redis_server, execute, subscribe
):
    # given a live subscriber
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    variables = {"threadId": gid("MessageThread", thread.id)}
    stream = await subscribe(MESSAGE_ADDED, variables, provider.user)
    await send(execute, thread, client, "before")
    assert (await stream.data())["messageAdded"]["body"] == "before"
    reconnects = redis_backend.reconnects_total

    # when Redis stops, three messages are sent, and Redis returns
    redis_server.stop()
    await until(lambda: not own_redis_broker.backend.is_connected)
    for body in ("during 1", "during 2", "during 3"):
        await send(execute, thread, client, body)
    assert await models.Message.filter(thread_id=thread.id).count() == 4
    redis_server.start()
    await until(lambda: own_redis_broker.backend.is_connected, timeout=10)
    await send(execute, thread, client, "after")

    # then, without resubscribing, all of it, in order, once
    bodies = [(await stream.data())["messageAdded"]["body"] for _ in range(4)]
    assert bodies == ["during 1", "during 2", "during 3", "after"]
    assert await stream.nothing_more()
    assert redis_backend.reconnects_total == reconnects + 1


async def test_readiness_reports_the_broker_while_the_server_stays_up(
    own_redis_broker, redis_server, live_server
):
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        # given a ready server
        assert (await http.get("/readyz")).status_code == 200

        # when Redis goes away
        redis_server.stop()
        await until(lambda: not own_redis_broker.backend.is_connected)
        down = await http.get("/readyz")
        alive = await http.get("/healthz")

        # then it is up but not ready, until Redis is back
        assert down.status_code == 503
        assert down.json()["broker"] is False
        assert down.json()["database"] is True
        assert alive.status_code == 200
        redis_server.start()
        await until(lambda: own_redis_broker.backend.is_connected, timeout=10)
        assert (await http.get("/readyz")).status_code == 200


async def test_a_log_out_during_an_outage_still_ends_the_connection(
    own_redis_broker, redis_server, live_server
):
    # given this process listening for revocations on our Redis, and a
    # connection subscribed with a token
    listening = broker.subscription_count()
    revocations = asyncio.create_task(sessions.listen_for_revocations())
    await until(lambda: broker.subscription_count() == listening + 1)
    user = await make_user()
    token = await issue_token(user)
    socket = await WsClient.open(f"ws://{live_server}/graphql")
    await socket.init(token)
    await socket.subscribe("1", "subscription { inboxUpdated { id } }")

    # when the token logs out while Redis is down, so the news is lost
    redis_server.stop()
    await until(lambda: not own_redis_broker.backend.is_connected)
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        response = await http.post(
            "/graphql",
            json={"query": "mutation { logOut }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.json()["data"] == {"logOut": True}
    redis_server.start()

    # then the connection is closed once Redis is back
    try:
        assert await socket.closed_code(timeout=10) == 4403
    finally:
        revocations.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await revocations
