"""messageAdded: replay after the cursor, then live, no gap and no duplicate."""

import asyncio

import pytest

import clock
import models
from schema.pagination import encode_cursor
from subscriptions import broker, live
from subscriptions.channels import thread_channel
from tests.conftest import gid, make_provider, make_thread, make_user
from tests.subscriptions.messaging import participants, send

MESSAGE_ADDED = """
subscription Added($threadId: ID!, $after: String) {
  messageAdded(threadId: $threadId, after: $after) { body cursor sender { id } }
}
"""

async def store_silently(thread: models.MessageThread, sender: models.User, body: str):
    """A committed message whose event never went out (a broker outage)."""
    row = await models.MessageThread.get(id=thread.id)
    row.last_seq += 1
    await row.save()
    await models.Message.create(
        thread_id=row.id,
        seq=row.last_seq,
        sender_id=sender.id,
        body=body,
        sent_at=clock.now(),
    )


def variables(thread, after: str | None = None) -> dict:
    return {"threadId": gid("MessageThread", thread.id), "after": after}


async def received(stream, count: int) -> list[str]:
    return [(await stream.data())["messageAdded"]["body"] for _ in range(count)]


async def test_replays_everything_after_the_cursor_then_goes_live(execute, subscribe):
    # given five stored messages
    client, provider_user, thread = await participants()
    cursors = [await send(execute, thread, client, f"m{n}") for n in range(1, 6)]

    # when the provider subscribes after the second
    stream = await subscribe(
        MESSAGE_ADDED, variables(thread, cursors[1]), provider_user
    )
    replayed = await received(stream, 3)
    await send(execute, thread, client, "m6")

    # then
    assert replayed == ["m3", "m4", "m5"]
    assert await received(stream, 1) == ["m6"]
    assert await stream.nothing_more()


async def test_without_a_cursor_only_new_messages_arrive(execute, subscribe):
    client, provider_user, thread = await participants()
    await send(execute, thread, client, "old")

    stream = await subscribe(MESSAGE_ADDED, variables(thread), provider_user)
    await send(execute, thread, provider_user, "new")

    assert await received(stream, 1) == ["new"]
    assert await stream.nothing_more()


async def test_the_seam_has_no_gap_and_no_duplicate(execute, subscribe):
    # given messages being sent while the subscriber joins
    client, provider_user, thread = await participants()
    first = await send(execute, thread, client, "m1")

    async def keep_sending():
        for n in range(2, 32):
            await send(execute, thread, client, f"m{n}")
            await asyncio.sleep(0)

    sender = asyncio.create_task(keep_sending())
    stream = await subscribe(MESSAGE_ADDED, variables(thread, first), provider_user)
    await sender

    # then each message arrives once, in order
    assert await received(stream, 30) == [f"m{n}" for n in range(2, 32)]
    assert await stream.nothing_more()


async def test_delivered_cursors_resume_where_the_subscriber_left(execute, subscribe):
    # given a subscriber that saw one message, then left
    client, provider_user, thread = await participants()
    stream = await subscribe(MESSAGE_ADDED, variables(thread), provider_user)
    await send(execute, thread, client, "seen")
    last_seen = (await stream.data())["messageAdded"]["cursor"]
    await stream.close()

    # when three are sent while away, and it comes back with its last cursor
    for body in ("a", "b", "c"):
        await send(execute, thread, client, body)
    again = await subscribe(MESSAGE_ADDED, variables(thread, last_seen), provider_user)
    await send(execute, thread, client, "live")

    # then it gets exactly those three, in order, then live ones
    assert await received(again, 4) == ["a", "b", "c", "live"]
    assert await again.nothing_more()


async def test_a_resync_replays_what_the_broker_lost(execute, subscribe):
    # given a live subscriber, and two messages committed without their events
    client, provider_user, thread = await participants()
    stream = await subscribe(MESSAGE_ADDED, variables(thread), provider_user)
    await store_silently(thread, client, "lost 1")
    await store_silently(thread, client, "lost 2")
    assert await stream.nothing_more()

    # when the broker says it came back
    await broker.publish(thread_channel(thread.id), {"kind": "resync"})

    # then the stream reads them from the database
    assert await received(stream, 2) == ["lost 1", "lost 2"]


async def test_a_gap_in_live_events_is_filled_from_the_database(execute, subscribe):
    client, provider_user, thread = await participants()
    stream = await subscribe(MESSAGE_ADDED, variables(thread), provider_user)
    await store_silently(thread, client, "lost")

    await send(execute, thread, client, "next")

    assert await received(stream, 2) == ["lost", "next"]


async def test_a_repeated_event_is_not_delivered_twice(execute, subscribe):
    client, provider_user, thread = await participants()
    stream = await subscribe(MESSAGE_ADDED, variables(thread), provider_user)
    await send(execute, thread, client, "once")
    message = await models.Message.get(thread_id=thread.id)

    await broker.publish(
        thread_channel(thread.id),
        {"kind": "message", "seq": message.seq, "message_id": message.id},
    )

    assert await received(stream, 1) == ["once"]
    assert await stream.nothing_more()


@pytest.mark.parametrize(
    "role", [models.Role.CLIENT, models.Role.PROVIDER, models.Role.STAFF]
)
async def test_anyone_else_is_refused_before_anything_flows(execute, subscribe, role):
    # given a thread with history, and a third user of any role
    client, _, thread = await participants()
    await send(execute, thread, client, "private")
    outsider = await make_user(role=role, name="Outsider")
    before = broker.subscription_count()

    # when they subscribe from the start
    from_the_start = encode_cursor("m", thread.id, 0)
    stream = await subscribe(MESSAGE_ADDED, variables(thread, from_the_start), outsider)
    first = await stream.next()

    # then they get FORBIDDEN, never listen, and nothing follows
    assert first.data is None
    assert first.errors[0].extensions["code"] == "FORBIDDEN"
    assert broker.subscription_count() == before
    await send(execute, thread, client, "still private")
    assert await stream.nothing_more()


async def test_anonymous_is_unauthenticated(subscribe):
    _, _, thread = await participants()

    stream = await subscribe(MESSAGE_ADDED, variables(thread))

    assert (await stream.next()).errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_an_unknown_thread_is_not_found(subscribe):
    client = await make_user()

    stream = await subscribe(
        MESSAGE_ADDED, {"threadId": gid("MessageThread", 999)}, client
    )

    assert (await stream.next()).errors[0].extensions["code"] == "NOT_FOUND"


async def test_a_cursor_from_another_thread_is_bad_user_input(execute, subscribe):
    client = await make_user()
    thread = await make_thread(client, await make_provider())
    other = await make_thread(client, await make_provider(name="Other"))
    foreign = await send(execute, other, client, "elsewhere")

    stream = await subscribe(MESSAGE_ADDED, variables(thread, foreign), client)

    assert (await stream.next()).errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_an_empty_cursor_is_bad_user_input_not_a_live_only_stream(
    subscribe,
):
    client = await make_user()
    thread = await make_thread(client, await make_provider())

    stream = await subscribe(MESSAGE_ADDED, variables(thread, ""), client)

    assert (await stream.next()).errors[0].extensions["code"] == "BAD_USER_INPUT"


SMILE = "\N{SLIGHTLY SMILING FACE}"
EVERY_FIELD = """
subscription Added($threadId: ID!) {
  messageAdded(threadId: $threadId) {
    id threadId body topic sentAt clientMessageId cursor sender { id name }
  }
}
"""
READ_BACK = """
query Back($id: ID!) {
  thread(id: $id) {
    messages(last: 1) {
      edges {
        node {
          id threadId body topic sentAt clientMessageId cursor sender { id name }
        }
      }
    }
  }
}
"""


async def test_a_live_message_comes_whole_from_its_event(
    execute, subscribe, monkeypatch
):
    # given a live subscriber whose reads of stored messages are counted
    client, provider_user, thread = await participants()
    stream = await subscribe(EVERY_FIELD, variables(thread), provider_user)
    reads = []
    original = live._stored_after

    def counted(thread_id, seq):
        reads.append(seq)
        return original(thread_id, seq)

    monkeypatch.setattr(live, "_stored_after", counted)

    # when the client sends a message with every optional field
    sent = await execute(
        "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
        {
            "input": {
                "threadId": gid("MessageThread", thread.id),
                "body": f"  Is a 53-minute session 90837? {SMILE}  ",
                "topic": "BILLING_CODING",
                "clientMessageId": "phone-1",
            }
        },
        client,
    )
    assert sent.errors == [], sent.errors

    # then the subscriber gets exactly what the database holds, read from
    # the event alone
    live_message = (await stream.data())["messageAdded"]
    stored = await execute(READ_BACK, {"id": gid("MessageThread", thread.id)}, client)
    assert live_message == stored.data["thread"]["messages"]["edges"][0]["node"]
    assert live_message["body"] == f"Is a 53-minute session 90837? {SMILE}"
    assert reads == []
