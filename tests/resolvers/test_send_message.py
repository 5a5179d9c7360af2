"""sendMessage: participants only, 1 to 5,000 characters, one message per retry."""

import asyncio

import pytest

import models
from tests.conftest import gid, make_provider, make_thread, make_user

SEND = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    id threadId body topic sentAt clientMessageId cursor
    sender { id }
  }
}
"""

DRIVER_LOGGERS = ("tortoise", "aiosqlite", "asyncpg")

THREAD = """
query Thread($id: ID!) {
  thread(id: $id) { unreadCount lastMessage { id body } }
}
"""


def message(thread: models.MessageThread, body: str, **extra):
    return {
        "input": {"threadId": gid("MessageThread", thread.id), "body": body, **extra}
    }


async def participants():
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    return client, provider.user, thread


async def test_a_participant_sends_a_trimmed_message(execute):
    # given
    client, provider_user, thread = await participants()

    # when
    result = await execute(
        SEND,
        message(thread, "  Can we move Tuesday?  ", topic="APPOINTMENT_CHANGE"),
        client,
    )

    # then
    assert result.errors == []
    sent = result.data["sendMessage"]
    assert sent["body"] == "Can we move Tuesday?"
    assert sent["topic"] == "APPOINTMENT_CHANGE"
    assert sent["threadId"] == gid("MessageThread", thread.id)
    assert sent["sender"]["id"] == gid("User", client.id)
    stored = await models.Message.get(thread_id=thread.id)
    assert (stored.seq, stored.body) == (1, "Can we move Tuesday?")
    thread_row = await models.MessageThread.get(id=thread.id)
    assert thread_row.last_seq == 1


async def test_the_other_participant_sees_it_unread_and_the_sender_does_not(execute):
    client, provider_user, thread = await participants()

    await execute(SEND, message(thread, "Hello"), client)
    as_provider = await execute(
        THREAD, {"id": gid("MessageThread", thread.id)}, provider_user
    )
    as_client = await execute(THREAD, {"id": gid("MessageThread", thread.id)}, client)

    assert as_provider.data["thread"]["unreadCount"] == 1
    assert as_provider.data["thread"]["lastMessage"]["body"] == "Hello"
    assert as_client.data["thread"]["unreadCount"] == 0


async def test_the_provider_can_reply(execute):
    client, provider_user, thread = await participants()

    result = await execute(SEND, message(thread, "See you then."), provider_user)

    assert result.data["sendMessage"]["sender"]["id"] == gid("User", provider_user.id)
    assert await models.Message.filter(thread_id=thread.id).count() == 1


@pytest.mark.parametrize(
    "role", [models.Role.CLIENT, models.Role.PROVIDER, models.Role.STAFF]
)
async def test_anyone_else_is_forbidden(execute, role):
    # given a third user of any role, staff included
    _, _, thread = await participants()
    outsider = await make_user(role=role, name="Outsider")

    # when
    result = await execute(SEND, message(thread, "let me in"), outsider)

    # then
    assert result.code == "FORBIDDEN"
    assert await models.Message.all().count() == 0


async def test_anonymous_is_unauthenticated(execute):
    _, _, thread = await participants()

    result = await execute(SEND, message(thread, "hi"))

    assert result.code == "UNAUTHENTICATED"


async def test_an_unknown_thread_is_not_found(execute):
    client = await make_user()

    result = await execute(
        SEND, {"input": {"threadId": gid("MessageThread", 999), "body": "hi"}}, client
    )

    assert result.code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "BAD_USER_INPUT"),
        ("   \n\t ", "BAD_USER_INPUT"),
        ("x" * 5001, "BAD_USER_INPUT"),
        ("  " + "x" * 5000 + "  ", None),
        ("x", None),
    ],
)
async def test_bodies_are_1_to_5000_characters_after_trimming(execute, body, code):
    client, _, thread = await participants()

    result = await execute(SEND, message(thread, body), client)

    assert result.code == code
    assert await models.Message.all().count() == (0 if code else 1)
    if code:
        assert "5000" in result.errors[0]["message"]


async def test_a_retried_client_message_id_stores_one_message(execute):
    # given a message sent once
    client, _, thread = await participants()
    first = await execute(
        SEND, message(thread, "Running late", clientMessageId="c-1"), client
    )

    # when the client retries it, twice
    again = await execute(
        SEND, message(thread, "Running late", clientMessageId="c-1"), client
    )
    third = await execute(
        SEND, message(thread, "Running late", clientMessageId="c-1"), client
    )

    # then the same message comes back and one is stored
    assert again.data["sendMessage"] == first.data["sendMessage"]
    assert third.data["sendMessage"]["id"] == first.data["sendMessage"]["id"]
    assert first.data["sendMessage"]["clientMessageId"] == "c-1"
    assert await models.Message.all().count() == 1
    assert (await models.MessageThread.get(id=thread.id)).last_seq == 1


async def test_retries_arriving_at_once_store_one_message(execute):
    client, _, thread = await participants()
    variables = message(thread, "Running late", clientMessageId="c-race")

    results = await asyncio.gather(
        *(execute(SEND, variables, client) for _ in range(8))
    )

    assert [r.errors for r in results] == [[]] * 8
    assert len({r.data["sendMessage"]["id"] for r in results}) == 1
    assert await models.Message.all().count() == 1
    assert (await models.MessageThread.get(id=thread.id)).last_seq == 1


async def test_the_same_client_message_id_from_the_other_participant_is_a_new_message(
    execute,
):
    client, provider_user, thread = await participants()

    await execute(SEND, message(thread, "a", clientMessageId="same"), client)
    await execute(SEND, message(thread, "b", clientMessageId="same"), provider_user)

    assert await models.Message.filter(thread_id=thread.id).count() == 2


async def test_a_client_message_id_reused_in_another_thread_is_a_conflict(execute):
    client = await make_user()
    first_thread = await make_thread(client, await make_provider())
    other_thread = await make_thread(client, await make_provider(name="Other"))
    await execute(SEND, message(first_thread, "a", clientMessageId="k"), client)

    result = await execute(
        SEND, message(other_thread, "b", clientMessageId="k"), client
    )

    assert result.code == "CONFLICT"
    assert await models.Message.filter(thread_id=other_thread.id).count() == 0


async def test_messages_sent_at_once_get_consecutive_numbers(execute):
    # given both participants writing at the same moment
    client, provider_user, thread = await participants()

    # when
    results = await asyncio.gather(
        *(
            execute(SEND, message(thread, f"m{i}"), client if i % 2 else provider_user)
            for i in range(20)
        )
    )

    # then every message has its own number, with no gap
    assert all(r.errors == [] for r in results)
    seqs = await models.Message.filter(thread_id=thread.id).values_list(
        "seq", flat=True
    )
    assert sorted(seqs) == list(range(1, 21))
    assert (await models.MessageThread.get(id=thread.id)).last_seq == 20


async def test_message_bodies_never_reach_our_logs(execute, caplog):
    client, _, thread = await participants()

    with caplog.at_level("DEBUG"):
        await execute(SEND, message(thread, "my panic attacks are back"), client)

    # The database drivers echo SQL parameters at DEBUG; our code never does.
    ours = [r for r in caplog.records if not r.name.startswith(DRIVER_LOGGERS)]
    assert ours
    assert not [r for r in ours if "panic" in r.getMessage()]
