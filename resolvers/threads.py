"""Message threads: reading, writing and read markers."""

import logging
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

import clock
import models
from resolvers.visibility import is_thread_participant
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound
from schema.ids import parse_int_id, require_int_id
from schema.pagination import (
    Connection,
    connection,
    decode_cursor,
    decode_time_cursor,
    page_size,
    time_cursor,
)

logger = logging.getLogger(__name__)

MAX_BODY = 5000


def _seq_from_cursor(cursor: str, thread_id: int) -> int:
    tag, cursor_thread, seq = decode_cursor(cursor, str, int, int)
    if tag != "m" or cursor_thread != thread_id or not isinstance(seq, int):
        raise BadUserInput("expected a message cursor from this thread")
    return seq


async def list_messages(
    ctx: Context,
    thread: models.MessageThread,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Any]:
    """Oldest first by the thread's own numbering."""
    from schema.types import Message, message_cursor

    if first is not None and last is not None:
        raise BadUserInput("expected first or last, not both")
    query = models.Message.filter(thread_id=thread.id)
    if after is not None:
        query = query.filter(seq__gt=_seq_from_cursor(after, thread.id))
    if before is not None:
        query = query.filter(seq__lt=_seq_from_cursor(before, thread.id))

    if last is not None:
        limit = page_size(last, "last")
        rows = list(await query.order_by("-seq").limit(limit + 1))
        page = list(reversed(rows[:limit]))
        has_next, has_previous = before is not None, len(rows) > limit
    else:
        limit = page_size(first)
        rows = list(await query.order_by("seq").limit(limit + 1))
        page = rows[:limit]
        has_next, has_previous = len(rows) > limit, after is not None

    return connection(
        [Message.from_row(row) for row in page],
        [message_cursor(row) for row in page],
        has_next=has_next,
        has_previous=has_previous,
    )


async def find_thread(ctx: Context, thread_id: str) -> models.MessageThread | None:
    """For queries: null if missing, FORBIDDEN to anyone but the two participants."""
    key = parse_int_id(thread_id, "MessageThread")
    if key is None:
        return None
    thread = await models.MessageThread.filter(id=key).first()
    if thread is None:
        return None
    if not await is_thread_participant(ctx, thread):
        raise Forbidden("Only the client and the provider can read this thread.")
    return thread


async def load_thread(ctx: Context, thread_id: str) -> models.MessageThread:
    """For mutations and subscriptions: NOT_FOUND or FORBIDDEN, never null."""
    ctx.require_viewer()
    key = require_int_id(thread_id, "MessageThread")
    thread = await models.MessageThread.filter(id=key).first()
    if thread is None:
        raise NotFound(f"No thread has the id {thread_id!r}.")
    if not await is_thread_participant(ctx, thread):
        raise Forbidden("Only the client and the provider can use this thread.")
    return thread


async def viewer_threads_query(ctx: Context) -> Any:
    viewer = ctx.require_viewer()
    if viewer.role == models.Role.PROVIDER:
        provider = await ctx.loaders.provider_by_user_id.load(viewer.id)
        return models.MessageThread.filter(provider_id=provider.id)
    return models.MessageThread.filter(client_id=viewer.id)


async def list_threads(
    query: Any, first: int | None, after: str | None
) -> tuple[list[models.MessageThread], list[str], bool]:
    """Newest activity first (then id, descending)."""
    limit = page_size(first)
    if after is not None:
        at, thread_id = decode_time_cursor(after)
        query = query.filter(
            Q(last_activity_at__lt=at) | (Q(last_activity_at=at) & Q(id__lt=thread_id))
        )
    rows = await query.order_by("-last_activity_at", "-id").limit(limit + 1)
    page = rows[:limit]
    cursors = [time_cursor(t.last_activity_at, t.id) for t in page]
    return page, cursors, len(rows) > limit


async def send_message(
    ctx: Context,
    thread_id: str,
    body: str,
    topic: models.MessageTopic | None,
    client_message_id: str | None,
) -> tuple[models.Message, models.MessageThread, bool]:
    """Store one message; the same clientMessageId returns the stored one.

    Returns the message, the thread after it, and whether it is new.
    """
    sender = ctx.require_viewer()
    thread = await load_thread(ctx, thread_id)
    text = body.strip()
    if not 1 <= len(text) <= MAX_BODY:
        raise BadUserInput(
            f"expected a message of 1 to {MAX_BODY} characters, got {len(text)}"
        )
    if client_message_id is not None:
        client_message_id = client_message_id.strip()
        if not 1 <= len(client_message_id) <= 200:
            raise BadUserInput("expected a clientMessageId of 1 to 200 characters")
        earlier = await _by_client_message_id(sender.id, client_message_id)
        if earlier is not None:
            return _same_thread(earlier, thread), thread, False

    now = clock.now()
    try:
        async with in_transaction():
            # The row lock hands out sequence numbers one at a time.
            locked = await models.MessageThread.select_for_update().get(id=thread.id)
            locked.last_seq += 1
            locked.last_activity_at = now
            if sender.id == locked.client_id:
                locked.client_read_seq = locked.last_seq
            else:
                locked.provider_read_seq = locked.last_seq
            await locked.save()
            message = await models.Message.create(
                thread_id=locked.id,
                seq=locked.last_seq,
                sender_id=sender.id,
                body=text,
                topic=topic,
                client_message_id=client_message_id,
                sent_at=now,
            )
    except IntegrityError:
        earlier = await _by_client_message_id(sender.id, client_message_id)
        if earlier is None:
            raise
        return _same_thread(earlier, thread), thread, False

    logger.info("Sent message_id=%s thread_id=%s", message.id, locked.id)
    return message, locked, True


def _same_thread(
    earlier: models.Message, thread: models.MessageThread
) -> models.Message:
    # A retry returns what it stored; the same id sent to another thread is a
    # client bug, and answering with the other thread's message would hide it.
    if earlier.thread_id != thread.id:
        raise Conflict("That clientMessageId was already used in another thread.")
    return earlier


async def _by_client_message_id(
    sender_id: int, client_message_id: str | None
) -> models.Message | None:
    if client_message_id is None:
        return None
    return await models.Message.filter(
        sender_id=sender_id, client_message_id=client_message_id
    ).first()


async def mark_thread_read(ctx: Context, thread_id: str) -> models.MessageThread:
    viewer = ctx.require_viewer()
    thread = await load_thread(ctx, thread_id)
    async with in_transaction():
        locked = await models.MessageThread.select_for_update().get(id=thread.id)
        if viewer.id == locked.client_id:
            locked.client_read_seq = locked.last_seq
        else:
            locked.provider_read_seq = locked.last_seq
        await locked.save(update_fields=["client_read_seq", "provider_read_seq"])
    return locked
