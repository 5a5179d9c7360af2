"""A directory page costs the same number of SQL statements at any page size."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

import clock
import models
from resolvers.providers import sync_tags
from tests.conftest import gid, uses_postgres

DIRECTORY = """
query Directory($plan: ID!, $first: Int!) {
  providers(filter: {state: "NY", insurancePlanId: $plan}, first: $first) {
    edges {
      node {
        id name credentials specialties
        insurancePlans { name payer }
        offices { label address state }
        nextAvailableSlot { startsAt endsAt formats }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

AVAILABLE = """
query Available($from: DateTime!, $to: DateTime!, $first: Int!) {
  providers(filter: {availableFrom: $from, availableTo: $to}, first: $first) {
    edges { node { id name insurancePlans { name } nextAvailableSlot { startsAt } } }
  }
}
"""

PROVIDERS = 60


@contextmanager
def counted_statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent to the database driver while the block runs."""
    statements: list[str] = []
    if uses_postgres():
        import asyncpg

        target, names = (
            asyncpg.Connection,
            (
                "fetch",
                "fetchrow",
                "fetchval",
                "execute",
                "executemany",
            ),
        )
    else:
        import aiosqlite

        target, names = (
            aiosqlite.Connection,
            (
                "execute",
                "execute_fetchall",
                "execute_insert",
                "executemany",
                "executescript",
            ),
        )
    for name in names:
        original = getattr(target, name)

        async def counting(self, query, *args, _original=original, **kwargs):
            statements.append(query)
            return await _original(self, query, *args, **kwargs)

        monkeypatch.setattr(target, name, counting)
    yield statements
    monkeypatch.undo()


async def directory_of(count: int) -> models.InsurancePlan:
    """Providers in NY taking one plan, each with offices, hours and bookings."""
    plan = await models.InsurancePlan.create(name="PPO", payer="Aetna")
    other = await models.InsurancePlan.create(name="HMO", payer="Cigna")
    client = await models.User.create(
        email="client@example.test",
        password_hash="unused",
        name="Client",
        role=models.Role.CLIENT,
        timezone="America/New_York",
    )
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    for index in range(count):
        user = await models.User.create(
            email=f"provider{index}@example.test",
            password_hash="unused",
            name=f"Provider {index:02}",
            role=models.Role.PROVIDER,
            timezone="America/New_York",
        )
        provider = await models.Provider.create(
            user=user,
            name=f"Provider {index:02}",
            timezone="America/New_York",
            accepting_new_clients=True,
            licensed_states=["NY"],
            formats=["VIDEO"],
            specialties=["Anxiety"],
            minimum_notice_hours=0,
        )
        await sync_tags(provider)
        await provider.plans.add(plan, other)
        await models.Office.create(
            provider=provider, label="Main", address="1 Main St", state="NY"
        )
        await models.AvailabilityWindow.bulk_create(
            [
                models.AvailabilityWindow(
                    provider=provider, weekday=day, start_minute=540, end_minute=1020
                )
                for day in range(1, 8)
            ]
        )
        await models.Appointment.create(
            provider=provider,
            client=client,
            kind=models.AppointmentKind.SESSION,
            format=models.AppointmentFormat.VIDEO,
            starts_at=start,
            ends_at=start + timedelta(minutes=50),
            blocked_until=start + timedelta(minutes=50),
            duration_minutes=50,
        )
        await models.TimeOff.create(
            provider=provider,
            starts_at=start + timedelta(days=1),
            ends_at=start + timedelta(days=2),
        )
    return plan


async def statements_for(execute, monkeypatch, document, variables) -> list[str]:
    with counted_statements(monkeypatch) as statements:
        result = await execute(document, variables)
    assert result.errors == []
    return statements


async def test_a_page_of_fifty_costs_the_statements_of_a_page_of_five(
    execute, monkeypatch
):
    # given
    plan = await directory_of(PROVIDERS)
    variables = {"plan": gid("InsurancePlan", plan.id)}

    # when
    five = await statements_for(
        execute, monkeypatch, DIRECTORY, {**variables, "first": 5}
    )
    fifty = await statements_for(
        execute, monkeypatch, DIRECTORY, {**variables, "first": 50}
    )

    # then
    assert len(five) == len(fifty), (five, fifty)
    result = await execute(DIRECTORY, {**variables, "first": 50})
    edges = result.data["providers"]["edges"]
    assert len(edges) == 50
    assert all(e["node"]["nextAvailableSlot"] is not None for e in edges)
    assert all(len(e["node"]["insurancePlans"]) == 2 for e in edges)
    assert all(len(e["node"]["offices"]) == 1 for e in edges)


async def test_an_availability_filtered_page_costs_the_same_at_five_and_twenty(
    execute, monkeypatch
):
    # given
    await directory_of(PROVIDERS)
    variables = {
        "from": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (clock.now() + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    # when
    five = await statements_for(
        execute, monkeypatch, AVAILABLE, {**variables, "first": 5}
    )
    twenty = await statements_for(
        execute, monkeypatch, AVAILABLE, {**variables, "first": 20}
    )

    # then
    assert len(five) == len(twenty), (five, twenty)


@pytest.mark.skipif(not uses_postgres(), reason="asyncpg's pool reset is PostgreSQL's")
async def test_a_pooled_connection_goes_back_without_a_reset_round_trip(
    execute, monkeypatch
):
    with counted_statements(monkeypatch) as statements:
        result = await execute("{ insurancePlans { name } }")
        await models.InsurancePlan.filter(name="none").count()

    assert result.errors == []
    assert statements, "nothing was counted"
    assert not [s for s in statements if "RESET ALL" in s], statements
