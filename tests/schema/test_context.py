"""Per-operation state when one Context serves many operations at once."""

import asyncio

import pytest

from schema.context import SLOT_BUDGET, Context, begin_operation
from schema.errors import BadUserInput


async def test_concurrent_operations_on_one_context_keep_their_own_loaders():
    # given one context, as a websocket has, and two operations in their tasks
    ctx = Context()
    started = asyncio.Event()
    seen = {}

    async def first():
        begin_operation()
        before = ctx.loaders
        started.set()
        await asyncio.sleep(0.01)  # the second operation starts meanwhile
        seen["first"] = (before, ctx.loaders)

    async def second():
        await started.wait()
        begin_operation()
        seen["second"] = ctx.loaders

    # when both run
    await asyncio.gather(asyncio.create_task(first()), asyncio.create_task(second()))

    # then the second never replaced the first one's loaders
    before, after = seen["first"]
    assert before is after
    assert seen["second"] is not before


async def test_each_concurrent_operation_has_its_own_open_time_budget():
    ctx = Context()
    spent = asyncio.Event()

    async def greedy():
        begin_operation()
        ctx.spend_slot_budget(range(SLOT_BUDGET - 10))
        spent.set()
        await asyncio.sleep(0.01)
        # another operation starting must not hand this one a new budget
        with pytest.raises(BadUserInput):
            ctx.spend_slot_budget(range(11))

    async def other():
        await spent.wait()
        begin_operation()
        return len(ctx.spend_slot_budget(range(SLOT_BUDGET)))

    results = await asyncio.gather(greedy(), other())

    assert results[1] == SLOT_BUDGET


async def test_tasks_an_operation_starts_share_its_loaders():
    ctx = Context()
    begin_operation()
    mine = ctx.loaders

    async def list_item():
        return ctx.loaders

    items = await asyncio.gather(*(list_item() for _ in range(3)))

    assert all(item is mine for item in items)


async def test_a_subscription_event_starts_afresh():
    ctx = Context()
    begin_operation()
    ctx.spend_slot_budget(range(SLOT_BUDGET))
    old = ctx.loaders

    ctx.fresh_loaders()

    assert ctx.loaders is not old
    assert len(ctx.spend_slot_budget(range(SLOT_BUDGET))) == SLOT_BUDGET
