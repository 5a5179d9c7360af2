"""rescheduleAppointment: the provider moves a session; the old time is freed."""

import pytest

import models
from tests.conftest import gid, make_provider, make_user, utc
from tests.resolvers.scheduling_helpers import (
    APPOINTMENT_FIELDS,
    add_appointment,
    availability_events,
    kinds,
    provider_with_client,
    schedule_events,
)

RESCHEDULE = f"""
mutation Move($id: ID!, $startsAt: DateTime!) {{
  rescheduleAppointment(id: $id, startsAt: $startsAt) {{ {APPOINTMENT_FIELDS} }}
}}
"""

SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) {
    availableSlots(from: $from, to: $to, kind: SESSION) { startsAt }
  }
}
"""


def move(appointment, starts_at):
    return {"id": gid("Appointment", appointment.id), "startsAt": starts_at}


async def session_at(provider, client, starts_at, **extra):
    return await add_appointment(provider, client, starts_at, **extra)


async def test_moved_session_keeps_its_length_and_frees_the_old_time(execute, now):
    # given
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), first_appointment="SESSION"
    )
    session = await session_at(provider, client, utc(2027, 6, 15, 14), minutes=53)

    # when
    async with (
        schedule_events(client) as to_client,
        schedule_events(provider.user) as to_provider,
        availability_events(provider) as open_times,
    ):
        result = await execute(
            RESCHEDULE, move(session, "2027-06-16T11:00:00-04:00"), provider.user
        )
        client_events = await to_client.drain()
        provider_events = await to_provider.drain()
        availability = await open_times.drain()

    # then
    moved = result.data["rescheduleAppointment"]
    assert (moved["startsAt"], moved["endsAt"]) == (
        "2027-06-16T15:00:00Z",
        "2027-06-16T15:53:00Z",
    )
    assert (moved["durationMinutes"], moved["cptCode"]) == (53, "90837")
    row = await models.Appointment.get(id=session.id)
    assert (row.starts_at, row.ends_at) == (
        utc(2027, 6, 16, 15),
        utc(2027, 6, 16, 15, 53),
    )
    assert kinds(client_events) == [("RESCHEDULED", session.id)]
    assert kinds(provider_events) == [("RESCHEDULED", session.id)]
    assert len(availability) == 1
    slots = await execute(
        SLOTS,
        {
            "id": gid("Provider", provider.id),
            "from": "2027-06-15T13:00:00Z",
            "to": "2027-06-15T15:00:00Z",
        },
    )
    listed = [s["startsAt"] for s in slots.data["provider"]["availableSlots"]]
    assert "2027-06-15T14:00:00Z" in listed


async def test_moving_half_an_hour_does_not_collide_with_itself(execute, now):
    # CASES.md 8: 11:00–11:50 to 11:30.
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), buffer_minutes=10
    )
    session = await session_at(provider, client, utc(2027, 6, 15, 15))

    result = await execute(
        RESCHEDULE, move(session, "2027-06-15T11:30:00-04:00"), provider.user
    )

    assert result.errors == []
    row = await models.Appointment.get(id=session.id)
    assert (row.starts_at, row.ends_at) == (
        utc(2027, 6, 15, 15, 30),
        utc(2027, 6, 15, 16, 20),
    )
    assert row.blocked_until == utc(2027, 6, 15, 16, 30)


async def test_colliding_move_leaves_the_original_and_sends_nothing(execute, now):
    # given: 11:00–11:50 and 12:00–12:50 New York
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15))
    other = await make_user(email="other@example.test")
    await session_at(provider, other, utc(2027, 6, 15, 16))

    # when
    async with schedule_events(client) as events:
        result = await execute(
            RESCHEDULE, move(session, "2027-06-15T15:30:00Z"), provider.user
        )
        sent = await events.drain()

    # then
    assert result.code == "CONFLICT"
    assert result.errors[0]["extensions"]["conflicts"] == ["2027-06-15T15:30:00Z"]
    row = await models.Appointment.get(id=session.id)
    assert (row.starts_at, row.ends_at) == (
        utc(2027, 6, 15, 15),
        utc(2027, 6, 15, 15, 50),
    )
    assert sent == []


async def test_blocked_time_follows_the_current_buffer(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15))
    provider.buffer_minutes = 20
    await provider.save()

    await execute(RESCHEDULE, move(session, "2027-06-16T15:00:00Z"), provider.user)

    row = await models.Appointment.get(id=session.id)
    assert row.blocked_until == utc(2027, 6, 16, 16, 10)


async def test_client_cannot_reschedule_and_is_pointed_to_messages(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15))

    result = await execute(RESCHEDULE, move(session, "2027-06-16T15:00:00Z"), client)

    assert result.code == "FORBIDDEN"
    assert "Messages" in result.errors[0]["message"]
    assert (await models.Appointment.get(id=session.id)).starts_at == utc(
        2027, 6, 15, 15
    )


async def test_another_provider_cannot_touch_the_appointment(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15))
    other_provider = await make_provider(name="Other Provider")
    staff = await make_user(models.Role.STAFF, name="Sam Staff")

    as_other = await execute(
        RESCHEDULE, move(session, "2027-06-16T15:00:00Z"), other_provider.user
    )
    as_staff = await execute(RESCHEDULE, move(session, "2027-06-16T15:00:00Z"), staff)

    assert as_other.code == "FORBIDDEN"
    assert as_staff.code == "FORBIDDEN"
    assert (await models.Appointment.get(id=session.id)).starts_at == utc(
        2027, 6, 15, 15
    )


@pytest.mark.parametrize(
    ("status", "clock_at"),
    [
        ("BOOKED", utc(2027, 6, 15, 15, 10)),  # has started
        ("CANCELLED", utc(2027, 6, 1, 12)),
        ("COMPLETED", utc(2027, 6, 16, 12)),
        ("NO_SHOW", utc(2027, 6, 16, 12)),
    ],
)
async def test_started_or_closed_appointments_cannot_move(
    execute, now, status, clock_at
):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15), status=status)
    now(clock_at)

    result = await execute(
        RESCHEDULE, move(session, "2027-06-20T15:00:00Z"), provider.user
    )

    assert result.code == "CONFLICT"
    assert (await models.Appointment.get(id=session.id)).starts_at == utc(
        2027, 6, 15, 15
    )


async def test_moving_into_the_past_is_bad_user_input(execute, now):
    now(utc(2027, 6, 10, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15))

    result = await execute(
        RESCHEDULE, move(session, "2027-06-09T15:00:00Z"), provider.user
    )

    assert result.code == "BAD_USER_INPUT"
    assert (await models.Appointment.get(id=session.id)).starts_at == utc(
        2027, 6, 15, 15
    )


async def test_moving_to_the_same_time_changes_nothing_and_says_nothing(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await session_at(provider, client, utc(2027, 6, 15, 15))

    async with schedule_events(client) as events:
        result = await execute(
            RESCHEDULE, move(session, "2027-06-15T11:00:00-04:00"), provider.user
        )
        sent = await events.drain()

    assert result.data["rescheduleAppointment"]["startsAt"] == "2027-06-15T15:00:00Z"
    assert sent == []


async def test_unknown_appointment_is_not_found(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, _ = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        RESCHEDULE,
        {"id": gid("Appointment", 9999), "startsAt": "2027-06-16T15:00:00Z"},
        provider.user,
    )

    assert result.code == "NOT_FOUND"


async def test_a_series_member_moves_alone_and_stays_in_its_series(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    first = await session_at(provider, client, utc(2027, 6, 7, 14), series_id="s-1")
    second = await session_at(provider, client, utc(2027, 6, 14, 14), series_id="s-1")

    await execute(RESCHEDULE, move(second, "2027-06-15T14:00:00Z"), provider.user)

    rows = await models.Appointment.filter(series_id="s-1").order_by("starts_at")
    assert [(r.id, r.starts_at) for r in rows] == [
        (first.id, utc(2027, 6, 7, 14)),
        (second.id, utc(2027, 6, 15, 14)),
    ]
