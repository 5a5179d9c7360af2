"""completeAppointment and markNoShow: the provider records what happened."""

import pytest

import models
from tests.conftest import gid, make_provider, make_user, utc
from tests.resolvers.scheduling_helpers import (
    add_appointment,
    availability_events,
    kinds,
    provider_with_client,
    schedule_events,
)

COMPLETE = """
mutation Complete($id: ID!) { completeAppointment(id: $id) { id status } }
"""

NO_SHOW = """
mutation NoShow($id: ID!) { markNoShow(id: $id) { id status } }
"""

SESSION_START = utc(2027, 6, 15, 14)  # 10:00–10:50 New York


async def a_session(**extra):
    provider, client = await provider_with_client(utc(2027, 5, 20, 14), **extra)
    session = await add_appointment(provider, client, SESSION_START)
    return provider, client, session


def by_id(session):
    return {"id": gid("Appointment", session.id)}


async def test_completed_once_it_has_ended_and_both_hear_of_it(execute, now):
    # given
    now(utc(2027, 6, 1, 12))
    provider, client, session = await a_session()
    now(utc(2027, 6, 15, 14, 50))

    # when
    async with (
        schedule_events(client) as to_client,
        schedule_events(provider.user) as to_provider,
    ):
        result = await execute(COMPLETE, by_id(session), provider.user)
        client_events = await to_client.drain()
        provider_events = await to_provider.drain()

    # then
    assert result.data["completeAppointment"]["status"] == "COMPLETED"
    assert (await models.Appointment.get(id=session.id)).status == "COMPLETED"
    assert kinds(client_events) == [("UPDATED", session.id)]
    assert kinds(provider_events) == [("UPDATED", session.id)]


@pytest.mark.parametrize("clock_at", [utc(2027, 6, 15, 13), utc(2027, 6, 15, 14, 49)])
async def test_completing_before_the_end_is_a_conflict(execute, now, clock_at):
    now(utc(2027, 6, 1, 12))
    provider, _, session = await a_session()
    now(clock_at)

    result = await execute(COMPLETE, by_id(session), provider.user)

    assert result.code == "CONFLICT"
    assert "not ended" in result.errors[0]["message"]
    assert (await models.Appointment.get(id=session.id)).status == "BOOKED"


async def test_no_show_once_it_has_started(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client, session = await a_session()
    now(utc(2027, 6, 15, 14, 15))

    async with schedule_events(client) as events:
        result = await execute(NO_SHOW, by_id(session), provider.user)
        sent = await events.drain()

    assert result.data["markNoShow"]["status"] == "NO_SHOW"
    assert (await models.Appointment.get(id=session.id)).status == "NO_SHOW"
    assert kinds(sent) == [("UPDATED", session.id)]


async def test_no_show_before_the_start_is_a_conflict(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, _, session = await a_session()
    now(utc(2027, 6, 15, 13, 59))

    result = await execute(NO_SHOW, by_id(session), provider.user)

    assert result.code == "CONFLICT"
    assert (await models.Appointment.get(id=session.id)).status == "BOOKED"


async def test_a_no_show_frees_the_rest_of_its_time(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, _, session = await a_session()
    now(utc(2027, 6, 15, 14, 15))

    async with availability_events(provider) as open_times:
        await execute(NO_SHOW, by_id(session), provider.user)
        availability = await open_times.drain()

    assert len(availability) == 1


@pytest.mark.parametrize(
    ("document", "status"),
    [
        (COMPLETE, "COMPLETED"),
        (COMPLETE, "CANCELLED"),
        (COMPLETE, "NO_SHOW"),
        (NO_SHOW, "NO_SHOW"),
        (NO_SHOW, "COMPLETED"),
        (NO_SHOW, "CANCELLED"),
    ],
)
async def test_only_a_booked_appointment_gets_an_outcome(
    execute, now, document, status
):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, SESSION_START, status=status)
    now(utc(2027, 6, 16, 12))

    async with schedule_events(client) as events:
        result = await execute(document, by_id(session), provider.user)
        sent = await events.drain()

    assert result.code == "CONFLICT"
    assert result.errors[0]["message"].endswith(f"that is {WORDS[status]}.")
    assert (await models.Appointment.get(id=session.id)).status == status
    assert sent == []


WORDS = {
    "COMPLETED": "completed",
    "CANCELLED": "cancelled",
    "NO_SHOW": "marked as a no-show",
}


@pytest.mark.parametrize("document", [COMPLETE, NO_SHOW])
async def test_only_the_appointments_provider_records_outcomes(execute, now, document):
    now(utc(2027, 6, 1, 12))
    _, client, session = await a_session()
    other_provider = await make_provider(name="Other Provider")
    staff = await make_user(models.Role.STAFF, name="Sam Staff")
    now(utc(2027, 6, 16, 12))

    as_client = await execute(document, by_id(session), client)
    as_other = await execute(document, by_id(session), other_provider.user)
    as_staff = await execute(document, by_id(session), staff)

    assert [as_client.code, as_other.code, as_staff.code] == ["FORBIDDEN"] * 3
    assert (await models.Appointment.get(id=session.id)).status == "BOOKED"
