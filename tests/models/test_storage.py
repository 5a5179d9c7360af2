"""What the database gives back is what we put in, on SQLite and PostgreSQL."""

import asyncio
from datetime import datetime, timedelta, timezone

from tortoise.transactions import in_transaction

import models
from tests.conftest import make_provider, make_user, utc


async def test_a_time_written_with_an_offset_reads_back_in_utc():
    # CASES.md 13: 12:00+02:00 is 10:00Z on both backends.
    provider = await make_provider()
    client = await make_user()
    starts = datetime(2027, 6, 15, 12, tzinfo=timezone(timedelta(hours=2)))
    appointment = await models.Appointment.create(
        provider=provider,
        client=client,
        kind="SESSION",
        format="VIDEO",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=50),
        blocked_until=starts + timedelta(minutes=50),
        duration_minutes=50,
    )

    stored = await models.Appointment.get(id=appointment.id)

    assert stored.starts_at == utc(2027, 6, 15, 10)
    assert stored.starts_at.utcoffset() == timedelta(0)


async def test_concurrent_transactions_do_not_share_state():
    # CASES.md 14: one task's rollback never takes another task's write along.
    async def write(name: str, fail: bool) -> None:
        async with in_transaction():
            await models.InsurancePlan.create(name=name, payer="Payer")
            await asyncio.sleep(0.01)
            if fail:
                raise RuntimeError("roll back")

    results = await asyncio.gather(
        write("kept", False), write("rolled back", True), return_exceptions=True
    )

    assert results[0] is None and isinstance(results[1], RuntimeError)
    names = await models.InsurancePlan.all().values_list("name", flat=True)
    assert names == ["kept"]


async def test_each_task_commits_on_its_own():
    async def write(i: int) -> None:
        async with in_transaction():
            await models.InsurancePlan.create(name=f"plan {i}", payer="Payer")

    await asyncio.gather(*[write(i) for i in range(5)])

    assert await models.InsurancePlan.all().count() == 5
