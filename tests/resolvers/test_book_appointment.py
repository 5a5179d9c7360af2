"""Book Now: the first appointment a client makes with a provider."""

import asyncio

import pytest

import models
from schema.ids import from_global_id
from tests.conftest import gid, iso, make_provider, make_user, utc

BOOK = """
mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) {
    id kind format status startsAt endsAt durationMinutes cptCode
    thread { id }
  }
}
"""

SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) { availableSlots(from: $from, to: $to) { startsAt endsAt formats } }
}
"""

VIEWER = """
{ viewer { appointments { edges { node { id startsAt } } }
           threads { edges { node { id provider { name } } } } } }
"""


def booking(provider: models.Provider, starts_at: str, fmt: str = "PHONE", **extra):
    return {
        "input": {
            "providerId": gid("Provider", provider.id),
            "startsAt": starts_at,
            "format": fmt,
            **extra,
        }
    }


async def test_intro_call_is_booked_and_opens_a_thread(execute, now):
    # given
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()

    # when
    result = await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), client)

    # then
    assert result.errors == []
    booked = result.data["bookAppointment"]
    assert booked["kind"] == "INTRO_CALL"
    assert booked["format"] == "PHONE"
    assert booked["endsAt"] == "2027-06-15T14:15:00Z"
    assert booked["cptCode"] is None
    assert booked["thread"] is not None
    listed = await execute(VIEWER, as_user=client)
    assert [
        e["node"]["id"] for e in listed.data["viewer"]["appointments"]["edges"]
    ] == [booked["id"]]
    assert len(listed.data["viewer"]["threads"]["edges"]) == 1


async def test_session_first_provider_books_an_intake_session(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(first_appointment="SESSION", session_minutes=53)
    client = await make_user()

    result = await execute(
        BOOK, booking(provider, "2027-06-15T14:00:00Z", "VIDEO"), client
    )

    booked = result.data["bookAppointment"]
    assert (booked["kind"], booked["durationMinutes"]) == ("INTAKE_SESSION", 53)
    assert booked["cptCode"] == "90791"


async def test_second_self_booking_points_to_messages(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), client)

    result = await execute(BOOK, booking(provider, "2027-06-16T14:00:00Z"), client)

    assert result.code == "FORBIDDEN"
    assert "Messages" in result.errors[0]["message"]
    assert await models.Appointment.all().count() == 1


async def test_provider_not_accepting_new_clients_is_forbidden(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(accepting_new_clients=False)
    client = await make_user()

    result = await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), client)

    assert result.code == "FORBIDDEN"
    assert await models.Appointment.all().count() == 0


async def test_same_idempotency_key_returns_the_same_appointment(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    variables = booking(provider, "2027-06-15T14:00:00Z", idempotencyKey="k-1")

    first = await execute(BOOK, variables, client)
    again = await execute(BOOK, variables, client)

    assert again.data["bookAppointment"]["id"] == first.data["bookAppointment"]["id"]
    assert await models.Appointment.all().count() == 1


async def test_a_key_reused_for_another_time_is_a_conflict(execute, now):
    # given a booking made with a key, then cancelled
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    first = await execute(
        BOOK, booking(provider, "2027-06-15T14:00:00Z", idempotencyKey="k1"), client
    )
    await models.Appointment.filter(
        id=int(from_global_id(first.data["bookAppointment"]["id"])[1])
    ).update(status=models.AppointmentStatus.CANCELLED)

    # when the key comes again with another time
    result = await execute(
        BOOK, booking(provider, "2027-06-15T15:00:00Z", idempotencyKey="k1"), client
    )

    # then it is refused, rather than answered with the cancelled 14:00
    assert result.code == "CONFLICT"
    assert "idempotencyKey" in result.errors[0]["message"]
    assert await models.Appointment.all().count() == 1


async def test_only_signed_in_clients_book(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    other_provider = await make_provider(name="Other")

    anonymous = await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"))
    as_provider = await execute(
        BOOK, booking(provider, "2027-06-15T14:00:00Z"), other_provider.user
    )

    assert anonymous.code == "UNAUTHENTICATED"
    assert as_provider.code == "FORBIDDEN"


@pytest.mark.parametrize(
    ("starts_at", "code", "says"),
    [
        ("2027-06-16T11:00:00Z", "SLOT_UNAVAILABLE", "needs 48 hours' notice"),
        ("2027-06-13T12:00:00Z", "SLOT_UNAVAILABLE", "That time has passed"),
        ("2027-06-16T12:17:00Z", "SLOT_UNAVAILABLE", "not one of this provider's"),
        ("2028-06-16T12:00:00Z", "SLOT_UNAVAILABLE", "at most 365 days ahead"),
        ("2027-06-16T12:00:00Z", None, None),
    ],
)
async def test_rules_hold_in_the_write_path(execute, now, starts_at, code, says):
    # CASES.md 6: 48-hour notice, clock at 2027-06-14T12:00Z.
    now(utc(2027, 6, 14, 12))
    provider = await make_provider(
        timezone="UTC",
        minimum_notice_hours=48,
        windows=[(day, 0, 1440) for day in range(1, 8)],
    )
    client = await make_user()

    result = await execute(BOOK, booking(provider, starts_at), client)

    assert result.code == code
    if says is not None:
        assert says in result.errors[0]["message"]
    assert await models.Appointment.all().count() == (1 if code is None else 0)


async def test_a_taken_time_says_it_is_no_longer_free(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    first, second = await make_user(), await make_user()
    await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), first)

    result = await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), second)

    assert result.code == "SLOT_UNAVAILABLE"
    assert "no longer free" in result.errors[0]["message"]


async def test_time_without_offset_is_bad_user_input(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()

    result = await execute(BOOK, booking(provider, "2027-06-15T14:00:00"), client)

    assert result.code == "BAD_USER_INPUT"
    assert await models.Appointment.all().count() == 0


async def test_unknown_provider_is_not_found(execute, now):
    client = await make_user()

    result = await execute(
        BOOK,
        {
            "input": {
                "providerId": gid("Provider", 999),
                "startsAt": "2027-06-15T14:00:00Z",
                "format": "PHONE",
            }
        },
        client,
    )

    assert result.code == "NOT_FOUND"


async def test_wrong_format_for_an_intro_call_is_bad_user_input(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()

    result = await execute(
        BOOK, booking(provider, "2027-06-15T14:00:00Z", "VIDEO"), client
    )

    assert result.code == "BAD_USER_INPUT"


async def test_twenty_clients_racing_for_one_time_get_one_booking(execute, now):
    # CASES.md 5: 2027-06-15 10:00 New York, 14:00Z.
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    clients = [await make_user(email=f"racer{i}@example.test") for i in range(20)]

    results = await asyncio.gather(
        *[
            execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), client)
            for client in clients
        ]
    )

    codes = sorted(str(r.code) for r in results)
    assert codes == ["None"] + ["SLOT_UNAVAILABLE"] * 19
    assert await models.Appointment.all().count() == 1


async def test_overlapping_slots_of_different_lengths_never_both_win(execute, now):
    # 10:00–10:50 against 10:30–11:20, at once.
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(first_appointment="SESSION")
    a, b = await make_user(), await make_user()

    results = await asyncio.gather(
        execute(BOOK, booking(provider, "2027-06-15T14:00:00Z", "VIDEO"), a),
        execute(BOOK, booking(provider, "2027-06-15T14:30:00Z", "VIDEO"), b),
    )

    assert sorted(str(r.code) for r in results) == ["None", "SLOT_UNAVAILABLE"]
    assert await models.Appointment.all().count() == 1


async def test_every_listed_time_across_dst_is_bookable(execute, now):
    # CASES.md 1: New York Mondays 09:00–17:00, seen from Los Angeles.
    now(utc(2027, 2, 20, 12))
    provider = await make_provider(windows=[(1, 9 * 60, 17 * 60)])
    client = await make_user(timezone="America/Los_Angeles")
    pid = gid("Provider", provider.id)

    firsts = {}
    for day in ("2027-03-08", "2027-03-15"):
        result = await execute(
            SLOTS,
            {"id": pid, "from": f"{day}T00:00:00-08:00", "to": f"{day}T23:59:00-07:00"},
        )
        firsts[day] = result.data["provider"]["availableSlots"][0]["startsAt"]

    assert firsts == {
        "2027-03-08": "2027-03-08T14:00:00Z",
        "2027-03-15": "2027-03-15T13:00:00Z",
    }
    booked = await execute(BOOK, booking(provider, firsts["2027-03-15"]), client)
    assert booked.errors == []


async def test_a_time_one_hour_off_after_the_fall_change_is_refused(execute, now):
    now(utc(2027, 10, 20, 12))
    provider = await make_provider(windows=[(1, 9 * 60, 17 * 60)])
    client = await make_user(timezone="America/Los_Angeles")

    refused = await execute(BOOK, booking(provider, "2027-11-08T13:00:00Z"), client)
    accepted = await execute(BOOK, booking(provider, "2027-11-08T14:00:00Z"), client)

    assert refused.code == "SLOT_UNAVAILABLE"
    assert accepted.errors == []


async def test_midnight_window_last_hour_can_be_booked(execute, now):
    # CASES.md 4: Wednesday 21:00–24:00 New York, hourly on a 60-minute step.
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(
        windows=[(3, 21 * 60, 1440)],
        first_appointment="SESSION",
        session_minutes=60,
        slot_step_minutes=60,
    )
    client = await make_user()
    slots = await execute(
        SLOTS,
        {
            "id": gid("Provider", provider.id),
            "from": "2027-06-16T00:00:00-04:00",
            "to": "2027-06-17T00:00:00-04:00",
        },
    )

    starts = [s["startsAt"] for s in slots.data["provider"]["availableSlots"]]
    booked = await execute(
        BOOK, booking(provider, "2027-06-17T03:00:00Z", "VIDEO"), client
    )

    assert starts == [
        "2027-06-17T01:00:00Z",
        "2027-06-17T02:00:00Z",
        "2027-06-17T03:00:00Z",
    ]
    assert booked.errors == []


async def test_booked_time_disappears_from_open_times(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    variables = {
        "id": gid("Provider", provider.id),
        "from": "2027-06-15T13:00:00Z",
        "to": "2027-06-15T16:00:00Z",
    }

    await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z"), client)
    slots = await execute(SLOTS, variables)

    starts = [s["startsAt"] for s in slots.data["provider"]["availableSlots"]]
    assert "2027-06-15T14:00:00Z" not in starts
    assert iso(utc(2027, 6, 15, 14, 30)) in starts


async def test_buffer_after_a_booking_is_kept_once_not_twice(execute, now):
    # 50-minute sessions, 10-minute buffer, 30-minute step: after a booking at
    # 10:00–10:50 New York, 10:30 is taken and 11:00 is open again.
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(
        first_appointment="SESSION", buffer_minutes=10, slot_step_minutes=30
    )
    first, second, third = await make_user(), await make_user(), await make_user()
    await execute(BOOK, booking(provider, "2027-06-15T14:00:00Z", "VIDEO"), first)

    slots = await execute(
        SLOTS,
        {
            "id": gid("Provider", provider.id),
            "from": "2027-06-15T14:00:00Z",
            "to": "2027-06-15T16:00:00Z",
        },
    )
    too_close = await execute(
        BOOK, booking(provider, "2027-06-15T14:30:00Z", "VIDEO"), second
    )
    after_buffer = await execute(
        BOOK, booking(provider, "2027-06-15T15:00:00Z", "VIDEO"), third
    )

    starts = [s["startsAt"] for s in slots.data["provider"]["availableSlots"]]
    assert starts[0] == "2027-06-15T15:00:00Z"
    assert too_close.code == "SLOT_UNAVAILABLE"
    assert after_buffer.errors == []


async def test_fifty_clients_at_overlapping_starts_get_exactly_one_booking(
    execute, now
):
    # 50-minute sessions on a 10-minute step: 14:00, 14:10 … 14:40Z all
    # overlap one another, so of fifty requests spread over them one wins.
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(first_appointment="SESSION", slot_step_minutes=10)
    clients = [await make_user(email=f"fifty{i}@example.test") for i in range(50)]
    starts = [f"2027-06-15T14:{10 * (i % 5):02}:00Z" for i in range(50)]

    results = await asyncio.gather(
        *[
            execute(BOOK, booking(provider, at, "VIDEO"), client)
            for at, client in zip(starts, clients, strict=True)
        ]
    )

    assert sorted(str(r.code) for r in results) == ["None"] + ["SLOT_UNAVAILABLE"] * 49
    assert await models.Appointment.all().count() == 1


async def test_the_same_idempotency_key_sent_at_once_returns_one_appointment(
    execute, now
):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    variables = booking(provider, "2027-06-15T14:00:00Z", idempotencyKey="tap-tap")

    results = await asyncio.gather(
        *[execute(BOOK, variables, client) for _ in range(10)]
    )

    assert [r.errors for r in results] == [[]] * 10
    assert len({r.data["bookAppointment"]["id"] for r in results}) == 1
    assert await models.Appointment.all().count() == 1


@pytest.mark.parametrize(
    "cursor",
    [
        "WyJ4Iiw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ==",  # ["x",99999999999999999999999]
        "W251bGwsbnVsbF0=",  # [null,null]
        "W251bGwsMV0=",  # [null,1]
        "WyJ4Iix0cnVlXQ==",  # ["x",true]
    ],
)
async def test_a_crafted_cursor_is_bad_user_input_not_internal(execute, cursor):
    result = await execute(
        "query($after: String) { providers(after: $after) { edges { cursor } } }",
        {"after": cursor},
    )

    assert result.code == "BAD_USER_INPUT"
