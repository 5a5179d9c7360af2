"""Reading threads: messages by page, last message, unread counts, read markers."""

import pytest

import models
from tests.conftest import gid, make_provider, make_thread, make_user, utc

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id cursor } }
"""

MESSAGES = """
query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  thread(id: $id) {
    messages(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { body cursor } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

THREAD = """
query Thread($id: ID!) {
  thread(id: $id) {
    id unreadCount
    client { id } provider { id }
    lastMessage { body }
  }
}
"""

MARK_READ = """
mutation Read($id: ID!) { markThreadRead(threadId: $id) { id unreadCount } }
"""

VIEWER_THREADS = """
query Threads($first: Int, $after: String) {
  viewer {
    threads(first: $first, after: $after) {
      edges { node { id lastMessage { body } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def conversation(execute, count: int):
    """A thread holding `count` messages m1..mN, alternating senders."""
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    for n in range(1, count + 1):
        sender = client if n % 2 else provider.user
        body = {"threadId": gid("MessageThread", thread.id), "body": f"m{n}"}
        result = await execute(SEND, {"input": body}, sender)
        assert result.errors == []
    return client, provider.user, thread


def bodies(result) -> list[str]:
    return [e["node"]["body"] for e in result.data["thread"]["messages"]["edges"]]


def page_info(result) -> dict:
    return result.data["thread"]["messages"]["pageInfo"]


async def test_messages_are_oldest_first_twenty_by_default(execute):
    client, _, thread = await conversation(execute, 25)

    result = await execute(MESSAGES, {"id": gid("MessageThread", thread.id)}, client)

    assert bodies(result) == [f"m{n}" for n in range(1, 21)]
    assert page_info(result)["hasNextPage"] is True
    assert page_info(result)["hasPreviousPage"] is False


async def test_first_and_after_page_forwards_without_gaps(execute):
    # given
    client, _, thread = await conversation(execute, 7)
    variables = {"id": gid("MessageThread", thread.id), "first": 3}

    # when
    pages = []
    while True:
        result = await execute(MESSAGES, variables, client)
        pages.append(bodies(result))
        if not page_info(result)["hasNextPage"]:
            break
        variables["after"] = page_info(result)["endCursor"]

    # then
    assert pages == [["m1", "m2", "m3"], ["m4", "m5", "m6"], ["m7"]]


async def test_last_and_before_page_backwards(execute):
    client, _, thread = await conversation(execute, 7)
    variables = {"id": gid("MessageThread", thread.id), "last": 3}

    newest = await execute(MESSAGES, variables, client)
    variables["before"] = page_info(newest)["startCursor"]
    older = await execute(MESSAGES, variables, client)

    assert bodies(newest) == ["m5", "m6", "m7"]
    assert page_info(newest)["hasPreviousPage"] is True
    assert bodies(older) == ["m2", "m3", "m4"]
    assert page_info(older)["hasNextPage"] is True


async def test_a_message_cursor_is_the_cursor_of_its_edge(execute):
    client, _, thread = await conversation(execute, 3)

    result = await execute(MESSAGES, {"id": gid("MessageThread", thread.id)}, client)

    for edge in result.data["thread"]["messages"]["edges"]:
        assert edge["cursor"] == edge["node"]["cursor"]


@pytest.mark.parametrize(
    "arguments",
    [{"first": 2, "last": 2}, {"first": -1}, {"after": "bm9wZQ=="}],
)
async def test_bad_paging_arguments_are_bad_user_input(execute, arguments):
    client, _, thread = await conversation(execute, 2)

    result = await execute(
        MESSAGES, {"id": gid("MessageThread", thread.id), **arguments}, client
    )

    assert result.code == "BAD_USER_INPUT"


async def test_a_cursor_from_another_thread_is_bad_user_input(execute):
    # given a cursor taken from a thread of the same client with someone else
    client, _, thread = await conversation(execute, 2)
    other = await make_thread(client, await make_provider(name="Other"))
    await execute(
        SEND,
        {"input": {"threadId": gid("MessageThread", other.id), "body": "x"}},
        client,
    )
    other_page = await execute(MESSAGES, {"id": gid("MessageThread", other.id)}, client)
    foreign_cursor = page_info(other_page)["endCursor"]

    # when
    result = await execute(
        MESSAGES,
        {"id": gid("MessageThread", thread.id), "after": foreign_cursor},
        client,
    )

    # then
    assert result.code == "BAD_USER_INPUT"


async def test_last_message_and_unread_count_are_for_the_viewer(execute):
    # given three messages: two from the client, then one from the provider
    client, provider_user, thread = await conversation(execute, 3)

    # when
    as_client = await execute(THREAD, {"id": gid("MessageThread", thread.id)}, client)
    as_provider = await execute(
        THREAD, {"id": gid("MessageThread", thread.id)}, provider_user
    )

    # then
    assert as_client.data["thread"]["lastMessage"] == {"body": "m3"}
    assert as_client.data["thread"]["unreadCount"] == 0
    assert as_provider.data["thread"]["unreadCount"] == 1


async def test_an_empty_thread_has_no_last_message(execute):
    client = await make_user()
    thread = await make_thread(client)

    result = await execute(THREAD, {"id": gid("MessageThread", thread.id)}, client)

    assert result.data["thread"]["lastMessage"] is None
    assert result.data["thread"]["unreadCount"] == 0


async def test_mark_thread_read_clears_the_readers_count_only(execute):
    # given the provider has sent two messages the client has not read
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    for body in ("a", "b"):
        await execute(
            SEND,
            {"input": {"threadId": gid("MessageThread", thread.id), "body": body}},
            provider.user,
        )
    await execute(
        SEND,
        {"input": {"threadId": gid("MessageThread", thread.id), "body": "c"}},
        client,
    )

    # when the client marks it read
    result = await execute(MARK_READ, {"id": gid("MessageThread", thread.id)}, client)

    # then
    assert result.data["markThreadRead"]["unreadCount"] == 0
    row = await models.MessageThread.get(id=thread.id)
    assert row.client_read_seq == row.last_seq == 3
    assert row.provider_read_seq == 2
    as_provider = await execute(
        THREAD, {"id": gid("MessageThread", thread.id)}, provider.user
    )
    assert as_provider.data["thread"]["unreadCount"] == 1


@pytest.mark.parametrize("role", [models.Role.CLIENT, models.Role.STAFF])
async def test_nobody_else_reads_or_marks_a_thread(execute, role):
    _, _, thread = await conversation(execute, 1)
    outsider = await make_user(role=role, name="Outsider")

    read = await execute(THREAD, {"id": gid("MessageThread", thread.id)}, outsider)
    mark = await execute(MARK_READ, {"id": gid("MessageThread", thread.id)}, outsider)

    assert read.code == "FORBIDDEN"
    assert read.data is None or read.data["thread"] is None
    assert mark.code == "FORBIDDEN"
    row = await models.MessageThread.get(id=thread.id)
    assert (row.client_read_seq, row.provider_read_seq) == (1, 0)


async def test_an_unknown_thread_reads_as_null(execute):
    client = await make_user()

    result = await execute(THREAD, {"id": gid("MessageThread", 4242)}, client)

    assert result.errors == []
    assert result.data["thread"] is None


async def test_viewer_threads_list_newest_activity_first(execute, now):
    # given three threads; the oldest one gets the latest message
    client = await make_user()
    threads = []
    for hour in (9, 10, 11):
        now(utc(2027, 6, 1, hour))
        threads.append(await make_thread(client, await make_provider(name=f"P{hour}")))
    now(utc(2027, 6, 1, 12))
    await execute(
        SEND,
        {"input": {"threadId": gid("MessageThread", threads[0].id), "body": "news"}},
        client,
    )

    # when, two at a time
    first = await execute(VIEWER_THREADS, {"first": 2}, client)
    after = first.data["viewer"]["threads"]["pageInfo"]["endCursor"]
    second = await execute(VIEWER_THREADS, {"first": 2, "after": after}, client)

    # then
    listed = [
        edge["node"]["id"]
        for page in (first, second)
        for edge in page.data["viewer"]["threads"]["edges"]
    ]
    expected = [threads[0], threads[2], threads[1]]
    assert listed == [gid("MessageThread", t.id) for t in expected]
    assert first.data["viewer"]["threads"]["pageInfo"]["hasNextPage"] is True
    assert second.data["viewer"]["threads"]["pageInfo"]["hasNextPage"] is False


async def test_a_provider_sees_threads_with_their_clients(execute):
    provider = await make_provider()
    thread = await make_thread(await make_user(), provider)
    await make_thread(await make_user(), await make_provider(name="Other"))

    result = await execute(VIEWER_THREADS, {}, provider.user)

    edges = result.data["viewer"]["threads"]["edges"]
    assert [e["node"]["id"] for e in edges] == [gid("MessageThread", thread.id)]
