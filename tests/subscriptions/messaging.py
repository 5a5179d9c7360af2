"""Two participants and a thread, and sending into it, for subscription tests."""

from tests.conftest import gid, make_provider, make_thread, make_user

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { cursor } }
"""


async def participants():
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    return client, provider.user, thread


async def send(execute, thread, user, body: str) -> str:
    result = await execute(
        SEND,
        {"input": {"threadId": gid("MessageThread", thread.id), "body": body}},
        user,
    )
    assert result.errors == [], result.errors
    return result.data["sendMessage"]["cursor"]
