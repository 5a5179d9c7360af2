"""cancelAppointment: one appointment, or this and the following of a series."""

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

CANCEL = f"""
mutation Cancel($id: ID!, $reason: String, $scope: CancelScope) {{
  cancelAppointment(id: $id, reason: $reason, scope: $scope) {{ {APPOINTMENT_FIELDS} }}
}}
"""

BOOK = """
mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }
"""

SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) { availableSlots(from: $from, to: $to) { startsAt } }
}
"""

APPOINTMENT = """
query One($id: ID!) {
  appointment(id: $id) { status joinInfo cancellation { cancelledBy { id } } }
}
"""


def cancel(appointment, **extra):
    return {"id": gid("Appointment", appointment.id), **extra}


@pytest.mark.parametrize(
    ("clock_at", "late"),
    [
        (utc(2027, 6, 14, 14, 1), True),  # 23 h 59 min ahead
        (utc(2027, 6, 14, 14), False),  # exactly 24 h ahead
        (utc(2027, 6, 1, 12), False),
    ],
)
async def test_client_cancelling_less_than_a_day_ahead_is_late(
    execute, now, clock_at, late
):
    # given
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14))
    now(clock_at)

    # when
    result = await execute(CANCEL, cancel(session, reason="  feeling better  "), client)

    # then
    (cancelled,) = result.data["cancelAppointment"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancellation"]["late"] is late
    assert cancelled["cancellation"]["reason"] == "feeling better"
    assert cancelled["cancellation"]["cancelledBy"]["id"] == gid("User", client.id)
    row = await models.Appointment.get(id=session.id)
    assert (row.status, row.cancelled_late, row.cancelled_at) == (
        models.AppointmentStatus.CANCELLED,
        late,
        clock_at,
    )


@pytest.mark.parametrize("who", ["client", "provider"])
async def test_this_and_following_cancels_the_rest_of_the_series(execute, now, who):
    # given: a weekly series of four and an unrelated session in between
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    series = [
        await add_appointment(provider, client, utc(2027, 6, d, 14), series_id="s-1")
        for d in (7, 14, 21, 28)
    ]
    loose = await add_appointment(provider, client, utc(2027, 6, 22, 14))
    actor = client if who == "client" else provider.user

    # when
    async with schedule_events(client) as events:
        result = await execute(
            CANCEL, cancel(series[1], scope="THIS_AND_FOLLOWING"), actor
        )
        sent = await events.drain()

    # then
    returned = [a["startsAt"] for a in result.data["cancelAppointment"]]
    assert returned == [
        "2027-06-14T14:00:00Z",
        "2027-06-21T14:00:00Z",
        "2027-06-28T14:00:00Z",
    ]
    statuses = {
        r.id: r.status for r in await models.Appointment.filter(series_id="s-1")
    }
    assert [statuses[a.id] for a in series] == ["BOOKED"] + ["CANCELLED"] * 3
    assert (await models.Appointment.get(id=loose.id)).status == "BOOKED"
    assert kinds(sent) == [("CANCELLED", a.id) for a in series[1:]]


async def test_this_scope_cancels_one_occurrence_of_a_series(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    series = [
        await add_appointment(provider, client, utc(2027, 6, d, 14), series_id="s-1")
        for d in (7, 14, 21)
    ]

    await execute(CANCEL, cancel(series[1]), provider.user)

    rows = await models.Appointment.filter(series_id="s-1").order_by("starts_at")
    assert [r.status for r in rows] == ["BOOKED", "CANCELLED", "BOOKED"]


async def test_cancelling_frees_the_time_and_twice_sends_no_second_event(execute, now):
    # CASES.md 7
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(
        provider,
        client,
        utc(2027, 6, 15, 14),
        minutes=15,
        kind="INTRO_CALL",
        format="PHONE",
    )

    async with (
        schedule_events(client) as events,
        availability_events(provider) as open_times,
    ):
        first = await execute(CANCEL, cancel(session), client)
        again = await execute(CANCEL, cancel(session), client)
        sent = await events.drain()
        availability = await open_times.drain()

    assert first.errors == [] and again.errors == []
    assert again.data["cancelAppointment"][0]["status"] == "CANCELLED"
    assert kinds(sent) == [("CANCELLED", session.id)]
    assert len(availability) == 1
    slots = await execute(
        SLOTS,
        {
            "id": gid("Provider", provider.id),
            "from": "2027-06-15T14:00:00Z",
            "to": "2027-06-15T14:01:00Z",
        },
    )
    assert [s["startsAt"] for s in slots.data["provider"]["availableSlots"]] == [
        "2027-06-15T14:00:00Z"
    ]
    newcomer = await make_user(email="newcomer@example.test")
    booked = await execute(
        BOOK,
        {
            "input": {
                "providerId": gid("Provider", provider.id),
                "startsAt": "2027-06-15T14:00:00Z",
                "format": "PHONE",
            }
        },
        newcomer,
    )
    assert booked.errors == []


async def test_another_provider_cannot_cancel(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14))
    other_provider = await make_provider(name="Other Provider")
    other_client = await make_user(email="other@example.test")

    as_provider = await execute(CANCEL, cancel(session), other_provider.user)
    as_client = await execute(CANCEL, cancel(session), other_client)

    assert as_provider.code == "FORBIDDEN"
    assert as_client.code == "FORBIDDEN"
    assert (await models.Appointment.get(id=session.id)).status == "BOOKED"


async def test_staff_cancel_on_someones_behalf_but_never_read_join_info(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(
        provider, client, utc(2027, 6, 15, 14), join_info="https://meet.example/abc"
    )
    staff = await make_user(models.Role.STAFF, name="Sam Staff")

    result = await execute(CANCEL, cancel(session), staff)
    seen = await execute(APPOINTMENT, {"id": gid("Appointment", session.id)}, staff)

    (cancelled,) = result.data["cancelAppointment"]
    assert cancelled["cancellation"]["cancelledBy"]["id"] == gid("User", staff.id)
    assert cancelled["joinInfo"] is None
    assert seen.data["appointment"]["joinInfo"] is None
    assert (await models.Appointment.get(id=session.id)).cancelled_by_id == staff.id


async def test_an_appointment_that_has_started_cannot_be_cancelled(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14))
    now(utc(2027, 6, 15, 14, 5))

    result = await execute(CANCEL, cancel(session), client)

    assert result.code == "CONFLICT"
    assert (await models.Appointment.get(id=session.id)).status == "BOOKED"


async def test_a_completed_appointment_cannot_be_cancelled(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(
        provider, client, utc(2027, 6, 15, 14), status="COMPLETED"
    )

    result = await execute(CANCEL, cancel(session), provider.user)

    assert result.code == "CONFLICT"
    assert (await models.Appointment.get(id=session.id)).status == "COMPLETED"


async def test_following_never_cancels_an_occurrence_that_has_started(execute, now):
    # given a series whose first week was cancelled and whose second is
    # under way, not yet marked complete or no-show
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    series = [
        await add_appointment(provider, client, utc(2027, 6, d, 14), series_id="s-1")
        for d in (7, 14, 21)
    ]
    await execute(CANCEL, cancel(series[0]), client)
    now(utc(2027, 6, 14, 14, 30))

    # when the cancelled first week is cancelled again, with the following
    again = cancel(series[0], scope="THIS_AND_FOLLOWING")
    result = await execute(CANCEL, again, client)

    # then the session under way stays as it was; the one ahead is cancelled,
    # and the answer lists the asked-for occurrence first
    rows = await models.Appointment.filter(series_id="s-1").order_by("starts_at")
    assert [r.status for r in rows] == ["CANCELLED", "BOOKED", "CANCELLED"]
    returned = [a["startsAt"] for a in result.data["cancelAppointment"]]
    assert returned == ["2027-06-07T14:00:00Z", "2027-06-21T14:00:00Z"]


@pytest.mark.parametrize("who", ["provider", "staff"])
async def test_only_a_client_cancelling_is_ever_late(execute, now, who):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14))
    actor = (
        provider.user if who == "provider" else await make_user(role=models.Role.STAFF)
    )
    now(utc(2027, 6, 15, 10))

    result = await execute(CANCEL, cancel(session), actor)

    (cancelled,) = result.data["cancelAppointment"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancellation"]["late"] is False
