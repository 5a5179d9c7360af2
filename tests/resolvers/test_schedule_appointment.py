"""scheduleAppointment: the provider's follow-ups and recurring series."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

import models
from resolvers.scheduling import Recurrence, expand_occurrences
from tests.conftest import gid, iso, make_provider, make_user, utc
from tests.resolvers.scheduling_helpers import (
    APPOINTMENT_FIELDS,
    add_appointment,
    availability_events,
    kinds,
    provider_with_client,
    schedule_events,
)

SCHEDULE = f"""
mutation Schedule($input: ScheduleAppointmentInput!) {{
  scheduleAppointment(input: $input) {{ {APPOINTMENT_FIELDS} }}
}}
"""

SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) {
    availableSlots(from: $from, to: $to, kind: SESSION) { startsAt }
  }
}
"""

VIEWER_APPOINTMENTS = """
query Mine($from: DateTime, $to: DateTime, $status: AppointmentStatus) {
  viewer {
    appointments(from: $from, to: $to, status: $status) {
      edges { node { startsAt status } }
    }
  }
}
"""

NEW_YORK = ZoneInfo("America/New_York")


def schedule(client, starts_at, fmt="VIDEO", **extra):
    return {
        "input": {
            "clientId": gid("User", client.id),
            "startsAt": starts_at,
            "format": fmt,
            **extra,
        }
    }


def starts(result):
    return [a["startsAt"] for a in result.data["scheduleAppointment"]]


async def test_weekly_series_keeps_its_wall_clock_time_across_the_fall_change(
    execute, now
):
    # CASES.md 2: Monday 10:00 New York from 2027-10-25, four times.
    now(utc(2027, 10, 1, 12))
    provider, client = await provider_with_client(utc(2027, 9, 20, 14))
    recurrence = {"frequency": "WEEKLY", "count": 4}

    result = await execute(
        SCHEDULE,
        schedule(client, "2027-10-25T10:00:00-04:00", recurrence=recurrence),
        provider.user,
    )

    assert result.errors == []
    assert starts(result) == [
        "2027-10-25T14:00:00Z",
        "2027-11-01T14:00:00Z",
        "2027-11-08T15:00:00Z",
        "2027-11-15T15:00:00Z",
    ]
    rows = await models.Appointment.filter(kind="SESSION").order_by("starts_at")
    assert [r.starts_at.astimezone(NEW_YORK).hour for r in rows] == [10] * 4
    assert len({r.series_id for r in rows}) == 1 and rows[0].series_id
    series_ids = {a["seriesId"] for a in result.data["scheduleAppointment"]}
    assert len(series_ids) == 1 and None not in series_ids


async def test_ten_weekly_from_four_weeks_before_the_spring_change_stay_at_ten(
    execute, now
):
    # given: Monday 2027-02-15, four weeks before DST starts on 2027-03-14
    now(utc(2027, 2, 1, 12))
    provider, client = await provider_with_client(utc(2027, 1, 20, 15))

    # when
    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-02-15T15:00:00Z",
            recurrence={"frequency": "WEEKLY", "count": 10},
        ),
        provider.user,
    )

    # then
    expected = [utc(2027, 2, 15, 15) + timedelta(weeks=w) for w in range(4)] + [
        utc(2027, 3, 15, 14) + timedelta(weeks=w) for w in range(6)
    ]
    assert starts(result) == [iso(at) for at in expected]
    rows = await models.Appointment.filter(kind="SESSION").order_by("starts_at")
    assert [r.starts_at for r in rows] == expected
    assert {r.starts_at.astimezone(NEW_YORK).strftime("%a %H:%M") for r in rows} == {
        "Mon 10:00"
    }


async def test_biweekly_series_skips_a_week(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-06-07T14:00:00Z",
            recurrence={"frequency": "BIWEEKLY", "count": 3},
        ),
        provider.user,
    )

    assert starts(result) == [
        "2027-06-07T14:00:00Z",
        "2027-06-21T14:00:00Z",
        "2027-07-05T14:00:00Z",
    ]


async def test_monthly_series_keeps_the_weekday_and_its_ordinal(execute, now):
    # The 2nd Tuesday at 10:00 New York, across the spring change.
    now(utc(2027, 3, 1, 12))
    provider, client = await provider_with_client(utc(2027, 2, 20, 15))

    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-03-09T10:00:00-05:00",
            recurrence={"frequency": "MONTHLY", "count": 3},
        ),
        provider.user,
    )

    assert starts(result) == [
        "2027-03-09T15:00:00Z",
        "2027-04-13T14:00:00Z",
        "2027-05-11T14:00:00Z",
    ]


async def test_monthly_series_starting_in_a_fifth_week_is_bad_user_input(execute, now):
    now(utc(2027, 3, 1, 12))
    provider, client = await provider_with_client(utc(2027, 2, 20, 15))

    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-03-30T14:00:00Z",  # the 5th Tuesday of March
            recurrence={"frequency": "MONTHLY", "count": 3},
        ),
        provider.user,
    )

    assert result.code == "BAD_USER_INPUT"
    assert "5th week" in result.errors[0]["message"]
    assert await models.Appointment.filter(kind="SESSION").count() == 0


async def test_until_is_inclusive(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-06-07T14:00:00Z",
            recurrence={"frequency": "WEEKLY", "until": "2027-06-28T10:00:00-04:00"},
        ),
        provider.user,
    )

    assert starts(result)[-1] == "2027-06-28T14:00:00Z"
    assert len(starts(result)) == 4


@pytest.mark.parametrize(
    "recurrence",
    [
        {"frequency": "WEEKLY"},
        {"frequency": "WEEKLY", "count": 2, "until": "2027-07-01T00:00:00Z"},
        {"frequency": "WEEKLY", "count": 0},
        {"frequency": "WEEKLY", "count": 53},
        {"frequency": "WEEKLY", "until": "2028-06-07T14:00:00Z"},  # 53 Mondays
        {"frequency": "WEEKLY", "until": "2027-06-01T00:00:00Z"},  # before start
    ],
)
async def test_recurrence_outside_the_rules_is_bad_user_input(execute, now, recurrence):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(client, "2027-06-07T14:00:00Z", recurrence=recurrence),
        provider.user,
    )

    assert result.code == "BAD_USER_INPUT"
    assert await models.Appointment.filter(kind="SESSION").count() == 0


async def test_fifty_two_occurrences_are_the_most_a_series_has(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-06-07T14:00:00Z",
            recurrence={"frequency": "WEEKLY", "until": "2028-05-29T14:00:00Z"},
        ),
        provider.user,
    )

    assert result.errors == []
    assert len(starts(result)) == 52
    assert await models.Appointment.filter(kind="SESSION").count() == 52


@pytest.mark.parametrize(
    "starts_at",
    ["2027-06-01T11:00:00Z", "2027-06-01T12:00:00Z", "2029-07-01T12:00:00Z"],
)
async def test_start_in_the_past_or_years_away_is_bad_user_input(
    execute, now, starts_at
):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(SCHEDULE, schedule(client, starts_at), provider.user)

    assert result.code == "BAD_USER_INPUT"
    assert await models.Appointment.filter(kind="SESSION").count() == 0


async def test_series_colliding_with_a_booked_appointment_saves_nothing(execute, now):
    # given: another client holds the third Monday
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    other = await make_user(email="other@example.test")
    await add_appointment(provider, other, utc(2027, 6, 21, 14, 30), minutes=15)
    variables = schedule(
        client, "2027-06-07T14:00:00Z", recurrence={"frequency": "WEEKLY", "count": 5}
    )

    # when
    async with schedule_events(client) as events:
        result = await execute(SCHEDULE, variables, provider.user)
        sent = await events.drain()

    # then
    assert result.code == "CONFLICT"
    assert result.errors[0]["extensions"]["conflicts"] == ["2027-06-21T14:00:00Z"]
    assert "2027-06-21T14:00:00Z" in result.errors[0]["message"]
    assert result.data is None
    assert await models.Appointment.filter(client_id=client.id).count() == 1
    assert sent == []


async def test_every_colliding_occurrence_is_listed(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    await add_appointment(provider, client, utc(2027, 6, 14, 14))
    await add_appointment(provider, client, utc(2027, 6, 28, 14, 45))

    result = await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-06-07T14:00:00Z",
            recurrence={"frequency": "WEEKLY", "count": 4},
        ),
        provider.user,
    )

    assert result.errors[0]["extensions"]["conflicts"] == [
        "2027-06-14T14:00:00Z",
        "2027-06-28T14:00:00Z",
    ]
    assert await models.Appointment.filter(client_id=client.id).count() == 3


@pytest.mark.parametrize(
    ("starts_at", "code"),
    [
        ("2027-06-15T13:00:00Z", "CONFLICT"),  # ends 13:50, +15 reaches 14:05
        ("2027-06-15T12:55:00Z", None),  # ends 13:45, +15 is exactly 14:00
        ("2027-06-15T15:00:00Z", "CONFLICT"),  # inside the 14:50–15:05 buffer
        ("2027-06-15T15:05:00Z", None),
    ],
)
async def test_buffers_count_on_both_sides(execute, now, starts_at, code):
    # given: 14:00–14:50 booked, with a 15-minute buffer
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), buffer_minutes=15
    )
    await add_appointment(provider, client, utc(2027, 6, 15, 14))

    result = await execute(SCHEDULE, schedule(client, starts_at), provider.user)

    assert result.code == code
    expected = 3 if code is None else 2
    assert await models.Appointment.filter(client_id=client.id).count() == expected


async def test_cancelled_and_other_providers_appointments_do_not_collide(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    elsewhere = await make_provider(name="Elsewhere")
    await add_appointment(provider, client, utc(2027, 6, 15, 14), status="CANCELLED")
    await add_appointment(elsewhere, client, utc(2027, 6, 15, 14))

    result = await execute(
        SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), provider.user
    )

    assert result.errors == []


async def test_provider_is_not_bound_by_hours_notice_or_time_off(execute, now):
    # CASES.md 6: a follow-up 26 hours ahead, past a 48-hour client notice.
    now(utc(2027, 6, 14, 12))
    provider, client = await provider_with_client(
        utc(2027, 6, 1, 14), windows=[], minimum_notice_hours=48, booking_horizon_days=7
    )
    await models.TimeOff.create(
        provider=provider, starts_at=utc(2027, 6, 15, 0), ends_at=utc(2027, 6, 16, 0)
    )

    result = await execute(
        SCHEDULE, schedule(client, "2027-06-15T14:07:00Z"), provider.user
    )

    assert result.errors == []
    assert starts(result) == ["2027-06-15T14:07:00Z"]


async def test_one_off_session_has_its_length_code_and_no_series(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(client, "2027-06-15T14:00:00Z", durationMinutes=60),
        provider.user,
    )

    (made,) = result.data["scheduleAppointment"]
    assert made["kind"] == "SESSION"
    assert (made["endsAt"], made["durationMinutes"]) == ("2027-06-15T15:00:00Z", 60)
    assert made["cptCode"] == "90837"
    assert made["seriesId"] is None
    row = await models.Appointment.get(kind="SESSION")
    assert row.blocked_until == utc(2027, 6, 15, 15)
    assert row.series_id is None


async def test_intake_session_after_an_intro_call_is_coded_90791(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(client, "2027-06-15T14:00:00Z", kind="INTAKE_SESSION"),
        provider.user,
    )

    (made,) = result.data["scheduleAppointment"]
    assert (made["kind"], made["durationMinutes"], made["cptCode"]) == (
        "INTAKE_SESSION",
        50,
        "90791",
    )


async def test_in_person_session_carries_the_office(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), formats=["VIDEO", "IN_PERSON"]
    )
    await models.Office.create(
        provider=provider, label="Midtown", address="1 Main St, New York", state="NY"
    )

    result = await execute(
        SCHEDULE, schedule(client, "2027-06-15T14:00:00Z", "IN_PERSON"), provider.user
    )

    (made,) = result.data["scheduleAppointment"]
    assert made["office"] == {
        "label": "Midtown",
        "address": "1 Main St, New York",
        "state": "NY",
    }


@pytest.mark.parametrize(
    ("extra", "fmt"),
    [
        ({}, "IN_PERSON"),  # not one of the provider's formats
        ({"durationMinutes": 0}, "VIDEO"),
        ({"durationMinutes": 241}, "VIDEO"),
    ],
)
async def test_format_and_length_are_checked(execute, now, extra, fmt):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE, schedule(client, "2027-06-15T14:00:00Z", fmt, **extra), provider.user
    )

    assert result.code == "BAD_USER_INPUT"


async def test_client_cannot_schedule_and_is_pointed_to_messages(execute, now):
    now(utc(2027, 6, 1, 12))
    _, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), client)

    assert result.code == "FORBIDDEN"
    assert "Messages" in result.errors[0]["message"]
    assert await models.Appointment.all().count() == 1


async def test_staff_and_anonymous_cannot_schedule(execute, now):
    now(utc(2027, 6, 1, 12))
    _, client = await provider_with_client(utc(2027, 5, 20, 14))
    staff = await make_user(models.Role.STAFF, name="Sam Staff")

    as_staff = await execute(SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), staff)
    anonymous = await execute(SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"))

    assert as_staff.code == "FORBIDDEN"
    assert anonymous.code == "UNAUTHENTICATED"
    assert await models.Appointment.all().count() == 1


async def test_only_own_clients_can_be_scheduled(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    stranger = await make_user(email="stranger@example.test")
    other_provider = await make_provider(name="Other Provider")

    theirs = await execute(
        SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), other_provider.user
    )
    unknown = await execute(
        SCHEDULE, schedule(stranger, "2027-06-15T14:00:00Z"), provider.user
    )
    missing = await execute(
        SCHEDULE,
        {
            "input": {
                **schedule(client, "2027-06-15T14:00:00Z")["input"],
                "clientId": gid("User", 9999),
            }
        },
        provider.user,
    )

    assert theirs.code == "FORBIDDEN"
    assert unknown.code == "FORBIDDEN"
    assert missing.code == "NOT_FOUND"
    assert await models.Appointment.all().count() == 1


async def test_a_client_whose_only_appointment_was_cancelled_is_still_theirs(
    execute, now
):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    await add_appointment(
        provider,
        client,
        utc(2027, 6, 3, 14),
        kind="INTRO_CALL",
        format="PHONE",
        minutes=15,
        status="CANCELLED",
    )

    result = await execute(
        SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), provider.user
    )

    assert result.errors == []


async def test_each_occurrence_is_announced_to_both_and_open_times_once(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    variables = schedule(
        client, "2027-06-07T14:00:00Z", recurrence={"frequency": "WEEKLY", "count": 3}
    )

    async with (
        schedule_events(client) as to_client,
        schedule_events(provider.user) as to_provider,
        availability_events(provider) as open_times,
    ):
        await execute(SCHEDULE, variables, provider.user)
        client_events = await to_client.drain()
        provider_events = await to_provider.drain()
        availability = await open_times.drain()

    ids = (
        await models.Appointment.filter(kind="SESSION")
        .order_by("starts_at")
        .values_list("id", flat=True)
    )
    assert kinds(client_events) == [("BOOKED", i) for i in ids]
    assert kinds(provider_events) == [("BOOKED", i) for i in ids]
    assert len(availability) == 1
    assert "client" not in str(availability[0]).lower()


async def test_scheduled_time_leaves_the_open_times(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), first_appointment="SESSION"
    )
    window = {
        "id": gid("Provider", provider.id),
        "from": "2027-06-15T13:00:00Z",
        "to": "2027-06-15T16:00:00Z",
    }

    await execute(SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), provider.user)
    slots = await execute(SLOTS, window)

    listed = [s["startsAt"] for s in slots.data["provider"]["availableSlots"]]
    assert "2027-06-15T14:00:00Z" not in listed
    assert "2027-06-15T14:30:00Z" not in listed
    assert "2027-06-15T15:00:00Z" in listed


async def test_two_overlapping_schedules_at_once_never_both_win(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    results = await asyncio.gather(
        execute(SCHEDULE, schedule(client, "2027-06-15T14:00:00Z"), provider.user),
        execute(SCHEDULE, schedule(client, "2027-06-15T14:30:00Z"), provider.user),
    )

    assert sorted(str(r.code) for r in results) == ["CONFLICT", "None"]
    assert await models.Appointment.filter(kind="SESSION").count() == 1


async def test_viewer_lists_appointments_soonest_first_for_both_sides(execute, now):
    # given: one scheduled series, one cancelled occurrence
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    await execute(
        SCHEDULE,
        schedule(
            client,
            "2027-06-07T14:00:00Z",
            recurrence={"frequency": "WEEKLY", "count": 3},
        ),
        provider.user,
    )
    second = await models.Appointment.get(starts_at=utc(2027, 6, 14, 14))
    second.status = models.AppointmentStatus.CANCELLED
    await second.save()

    # when
    everything = await execute(VIEWER_APPOINTMENTS, {}, client)
    booked_in_june = await execute(
        VIEWER_APPOINTMENTS,
        {
            "from": "2027-06-01T00:00:00Z",
            "to": "2027-07-01T00:00:00Z",
            "status": "BOOKED",
        },
        provider.user,
    )

    # then
    nodes = [e["node"] for e in everything.data["viewer"]["appointments"]["edges"]]
    assert [(n["startsAt"], n["status"]) for n in nodes] == [
        ("2027-05-20T14:00:00Z", "BOOKED"),
        ("2027-06-07T14:00:00Z", "BOOKED"),
        ("2027-06-14T14:00:00Z", "CANCELLED"),
        ("2027-06-21T14:00:00Z", "BOOKED"),
    ]
    june = booked_in_june.data["viewer"]["appointments"]["edges"]
    assert [e["node"]["startsAt"] for e in june] == [
        "2027-06-07T14:00:00Z",
        "2027-06-21T14:00:00Z",
    ]


@pytest.mark.parametrize(
    ("kind", "minutes", "code"),
    [
        ("SESSION", 15, None),
        ("SESSION", 16, "90832"),
        ("SESSION", 37, "90832"),
        ("SESSION", 38, "90834"),
        ("SESSION", 52, "90834"),
        ("SESSION", 53, "90837"),
        ("SESSION", 90, "90837"),
        ("INTAKE_SESSION", 30, "90791"),
        ("INTAKE_SESSION", 60, "90791"),
    ],
)
async def test_cpt_code_follows_kind_and_length(execute, now, kind, minutes, code):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(client, "2027-06-15T14:00:00Z", kind=kind, durationMinutes=minutes),
        provider.user,
    )

    assert result.data["scheduleAppointment"][0]["cptCode"] == code


async def test_an_intro_call_scheduled_by_the_provider_has_no_code(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))

    result = await execute(
        SCHEDULE,
        schedule(client, "2027-06-15T14:00:00Z", "PHONE", kind="INTRO_CALL"),
        provider.user,
    )

    (made,) = result.data["scheduleAppointment"]
    assert (made["durationMinutes"], made["cptCode"]) == (15, None)


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        # 02:30 does not exist on 2027-03-14: RFC 5545 reads it with the
        # offset before the change, which is 03:30 EDT.
        (utc(2027, 3, 7, 7, 30), [utc(2027, 3, 7, 7, 30), utc(2027, 3, 14, 7, 30)]),
        # 01:30 happens twice on 2027-11-07: the first (EDT) one is meant.
        (utc(2027, 10, 31, 5, 30), [utc(2027, 10, 31, 5, 30), utc(2027, 11, 7, 5, 30)]),
    ],
)
def test_wall_times_a_change_skips_or_repeats_resolve_as_rfc_5545_says(first, expected):
    recurrence = Recurrence(frequency="WEEKLY", count=2, until=None)

    assert expand_occurrences(first, "America/New_York", recurrence) == expected


async def test_an_in_person_session_is_held_at_the_office_named(execute, now):
    # given a provider with two offices and a client of theirs
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 6, 2, 14), formats=["VIDEO", "IN_PERSON"]
    )
    for position, label in enumerate(["Midtown", "Brooklyn"]):
        await models.Office.create(
            provider=provider,
            position=position,
            label=label,
            address=f"1 {label} St",
            state="NY",
        )

    # when the provider schedules at the second office
    result = await execute(
        SCHEDULE,
        schedule(client, "2027-06-20T14:00:00Z", "IN_PERSON", officeLabel="brooklyn"),
        provider.user,
    )

    # then the appointment carries that office
    assert result.errors == []
    stored = await models.Appointment.get(starts_at=utc(2027, 6, 20, 14))
    assert (stored.office_label, stored.office_address) == ("Brooklyn", "1 Brooklyn St")
