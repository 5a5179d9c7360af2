"""setJoinInfo: how to join a virtual session, for its two participants only."""

import pytest

import models
from tests.conftest import gid, make_provider, make_user, utc
from tests.resolvers.scheduling_helpers import (
    add_appointment,
    kinds,
    provider_with_client,
    schedule_events,
)

SET_JOIN_INFO = """
mutation Join($id: ID!, $joinInfo: String!) {
  setJoinInfo(appointmentId: $id, joinInfo: $joinInfo) {
    id joinInfo format provider { videoPlatform }
  }
}
"""

APPOINTMENT = """
query One($id: ID!) { appointment(id: $id) { joinInfo office { address } } }
"""

LINK = "https://zoom.example/j/123456789?pwd=secret"


async def a_video_session(**extra):
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), video_platform="Zoom"
    )
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14), **extra)
    return provider, client, session


def join(session, text=LINK):
    return {"id": gid("Appointment", session.id), "joinInfo": text}


async def test_participants_read_the_join_info_and_nobody_else(execute, now):
    # given
    now(utc(2027, 6, 1, 12))
    provider, client, session = await a_video_session()
    staff = await make_user(models.Role.STAFF, name="Sam Staff")
    variables = {"id": gid("Appointment", session.id)}

    # when
    async with schedule_events(client) as events:
        result = await execute(
            SET_JOIN_INFO, join(session, f"  {LINK}\n"), provider.user
        )
        sent = await events.drain()

    # then
    updated = result.data["setJoinInfo"]
    assert updated["joinInfo"] == LINK
    assert updated["provider"]["videoPlatform"] == "Zoom"
    assert (await models.Appointment.get(id=session.id)).join_info == LINK
    assert kinds(sent) == [("UPDATED", session.id)]
    as_client = await execute(APPOINTMENT, variables, client)
    as_staff = await execute(APPOINTMENT, variables, staff)
    assert as_client.data["appointment"]["joinInfo"] == LINK
    assert as_staff.data["appointment"]["joinInfo"] is None


async def test_join_info_can_be_replaced_until_the_session_closes(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, _, session = await a_video_session()
    await execute(SET_JOIN_INFO, join(session), provider.user)
    now(utc(2027, 6, 15, 14, 5))  # started, still booked

    result = await execute(
        SET_JOIN_INFO, join(session, "Dial +1 555 0100, code 4242"), provider.user
    )

    assert result.data["setJoinInfo"]["joinInfo"] == "Dial +1 555 0100, code 4242"


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
async def test_join_info_outside_1_to_2000_characters_is_bad_user_input(
    execute, now, text
):
    now(utc(2027, 6, 1, 12))
    provider, _, session = await a_video_session()

    result = await execute(SET_JOIN_INFO, join(session, text), provider.user)

    assert result.code == "BAD_USER_INPUT"
    assert (await models.Appointment.get(id=session.id)).join_info is None


async def test_two_thousand_characters_fit(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, _, session = await a_video_session()

    result = await execute(SET_JOIN_INFO, join(session, "x" * 2000), provider.user)

    assert result.errors == []


@pytest.mark.parametrize("status", ["CANCELLED", "COMPLETED", "NO_SHOW"])
async def test_closed_appointments_take_no_join_info(execute, now, status):
    now(utc(2027, 6, 1, 12))
    provider, client, session = await a_video_session(status=status)

    async with schedule_events(client) as events:
        result = await execute(SET_JOIN_INFO, join(session), provider.user)
        sent = await events.drain()

    assert result.code == "CONFLICT"
    assert (await models.Appointment.get(id=session.id)).join_info is None
    assert sent == []


async def test_only_the_appointments_provider_sets_join_info(execute, now):
    now(utc(2027, 6, 1, 12))
    _, client, session = await a_video_session()
    other_provider = await make_provider(name="Other Provider")
    staff = await make_user(models.Role.STAFF, name="Sam Staff")

    as_client = await execute(SET_JOIN_INFO, join(session), client)
    as_other = await execute(SET_JOIN_INFO, join(session), other_provider.user)
    as_staff = await execute(SET_JOIN_INFO, join(session), staff)
    anonymous = await execute(SET_JOIN_INFO, join(session))

    assert [as_client.code, as_other.code, as_staff.code] == ["FORBIDDEN"] * 3
    assert anonymous.code == "UNAUTHENTICATED"
    assert (await models.Appointment.get(id=session.id)).join_info is None


async def test_in_person_sessions_carry_the_office_not_join_info(execute, now):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(
        provider, client, utc(2027, 6, 15, 14), format="IN_PERSON"
    )
    session.office_label, session.office_address = "Midtown", "1 Main St, New York"
    session.office_state = "NY"
    await session.save()

    result = await execute(SET_JOIN_INFO, join(session), provider.user)
    seen = await execute(APPOINTMENT, {"id": gid("Appointment", session.id)}, client)

    assert result.code == "BAD_USER_INPUT"
    assert seen.data["appointment"]["office"] == {"address": "1 Main St, New York"}
