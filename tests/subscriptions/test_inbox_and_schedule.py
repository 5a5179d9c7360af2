"""inboxUpdated, scheduleChanged and availabilityChanged: who hears what."""

import asyncio

import models
from subscriptions import broker
from subscriptions.channels import provider_availability_channel
from tests.conftest import gid, make_provider, make_thread, make_user, utc

INBOX = "subscription { inboxUpdated { id unreadCount lastMessage { body } } }"

SCHEDULE = """
subscription { scheduleChanged { type at appointment { id status client { id } } } }
"""

AVAILABILITY = """
subscription Open($id: ID!) {
  availabilityChanged(providerId: $id) {
    id
    availableSlots(from: "2027-06-15T00:00:00Z", to: "2027-06-16T00:00:00Z") {
      startsAt
    }
  }
}
"""

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id } }
"""

MARK_READ = "mutation Read($id: ID!) { markThreadRead(threadId: $id) { id } }"

BOOK = """
mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }
"""

CANCEL = "mutation Cancel($id: ID!) { cancelAppointment(id: $id) { id status } }"


def message_to(thread, body: str) -> dict:
    return {"input": {"threadId": gid("MessageThread", thread.id), "body": body}}


def booking(provider, starts_at: str = "2027-06-15T14:00:00Z") -> dict:
    return {
        "input": {
            "providerId": gid("Provider", provider.id),
            "startsAt": starts_at,
            "format": "PHONE",
        }
    }


async def test_a_message_updates_both_inboxes_each_with_its_own_count(
    execute, subscribe
):
    # given both participants and an outsider watching their inboxes
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    outsider = await make_user(name="Outsider")
    client_inbox = await subscribe(INBOX, as_user=client)
    provider_inbox = await subscribe(INBOX, as_user=provider.user)
    outsider_inbox = await subscribe(INBOX, as_user=outsider)

    # when the client writes
    await execute(SEND, message_to(thread, "hello"), client)

    # then
    for_client = (await client_inbox.data())["inboxUpdated"]
    for_provider = (await provider_inbox.data())["inboxUpdated"]
    assert for_client["id"] == for_provider["id"] == gid("MessageThread", thread.id)
    assert for_client["unreadCount"] == 0
    assert for_provider["unreadCount"] == 1
    assert for_provider["lastMessage"] == {"body": "hello"}
    assert await outsider_inbox.nothing_more()


async def test_marking_read_updates_only_the_readers_inbox(execute, subscribe):
    client = await make_user()
    provider = await make_provider()
    thread = await make_thread(client, provider)
    await execute(SEND, message_to(thread, "hello"), client)
    client_inbox = await subscribe(INBOX, as_user=client)
    provider_inbox = await subscribe(INBOX, as_user=provider.user)

    await execute(MARK_READ, {"id": gid("MessageThread", thread.id)}, provider.user)

    assert (await provider_inbox.data())["inboxUpdated"]["unreadCount"] == 0
    assert await client_inbox.nothing_more()


async def test_inbox_needs_a_viewer(subscribe):
    stream = await subscribe(INBOX)

    assert (await stream.next()).errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_a_booking_reaches_both_participants_once(execute, subscribe, now):
    # given
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    outsider = await make_user(name="Outsider")
    streams = [
        await subscribe(SCHEDULE, as_user=user)
        for user in (client, provider.user, outsider)
    ]

    # when
    booked = await execute(BOOK, booking(provider), client)

    # then
    appointment_id = booked.data["bookAppointment"]["id"]
    for stream in streams[:2]:
        event = (await stream.data())["scheduleChanged"]
        assert event["type"] == "BOOKED"
        assert event["at"] == "2027-06-01T12:00:00Z"
        assert event["appointment"]["id"] == appointment_id
        assert event["appointment"]["client"]["id"] == gid("User", client.id)
        assert await stream.nothing_more()
    assert await streams[2].nothing_more()


async def test_a_cancellation_is_announced_once(execute, subscribe, now):
    # given a booked appointment and its client watching
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    booked = await execute(BOOK, booking(provider), client)
    appointment_id = booked.data["bookAppointment"]["id"]
    stream = await subscribe(SCHEDULE, as_user=provider.user)

    # when it is cancelled twice
    await execute(CANCEL, {"id": appointment_id}, client)
    await execute(CANCEL, {"id": appointment_id}, client)

    # then one CANCELLED event
    event = (await stream.data())["scheduleChanged"]
    assert (event["type"], event["appointment"]["status"]) == ("CANCELLED", "CANCELLED")
    assert await stream.nothing_more()


async def test_schedule_needs_a_viewer(subscribe):
    stream = await subscribe(SCHEDULE)

    assert (await stream.next()).errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_availability_is_public_and_follows_bookings(execute, subscribe, now):
    # given an anonymous watcher of a provider's open times
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(timezone="UTC")
    client = await make_user()
    stream = await subscribe(AVAILABILITY, {"id": gid("Provider", provider.id)})

    # when a client books 14:00
    async with broker.listen(provider_availability_channel(provider.id)) as raw:
        await execute(BOOK, booking(provider), client)
        published = await asyncio.wait_for(anext(raw), 5)

    # then the watcher sees the time gone, and the event names no one
    event = await stream.next()
    assert event.errors is None
    slots = event.data["availabilityChanged"]["availableSlots"]
    starts = [slot["startsAt"] for slot in slots]
    assert "2027-06-15T13:30:00Z" in starts
    assert "2027-06-15T14:00:00Z" not in starts
    assert published == {"kind": "availability", "provider_id": provider.id}
    assert await models.Appointment.all().count() == 1


async def test_availability_of_an_unknown_provider_is_not_found(subscribe):
    before = broker.subscription_count()

    stream = await subscribe(AVAILABILITY, {"id": gid("Provider", 999)})

    assert (await stream.next()).errors[0].extensions["code"] == "NOT_FOUND"
    assert broker.subscription_count() == before


RESCHEDULE = """
mutation Move($id: ID!, $at: DateTime!) {
  rescheduleAppointment(id: $id, startsAt: $at) { id }
}
"""

JOIN_INFO = """
mutation Join($id: ID!, $info: String!) {
  setJoinInfo(appointmentId: $id, joinInfo: $info) { id }
}
"""

SCHEDULE_WITH_JOIN = """
subscription { scheduleChanged { type appointment { startsAt joinInfo } } }
"""


async def test_a_reschedule_and_new_join_info_reach_both_participants(
    execute, subscribe, now
):
    # given a booked intro call, both participants watching
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    booked = await execute(BOOK, booking(provider), client)
    appointment_id = booked.data["bookAppointment"]["id"]
    streams = [
        await subscribe(SCHEDULE_WITH_JOIN, as_user=user)
        for user in (client, provider.user)
    ]

    # when the provider moves it, then adds the video link
    moved = await execute(
        RESCHEDULE, {"id": appointment_id, "at": "2027-06-16T15:00:00Z"}, provider.user
    )
    joined = await execute(
        JOIN_INFO,
        {"id": appointment_id, "info": "https://video.example/r"},
        provider.user,
    )

    # then each hears both changes, with what a participant may see
    assert moved.errors == [] and joined.errors == []
    for stream in streams:
        first = (await stream.data())["scheduleChanged"]
        second = (await stream.data())["scheduleChanged"]
        assert first["type"] == "RESCHEDULED"
        assert first["appointment"]["startsAt"] == "2027-06-16T15:00:00Z"
        assert second["type"] == "UPDATED"
        assert second["appointment"]["joinInfo"] == "https://video.example/r"
        assert await stream.nothing_more()
