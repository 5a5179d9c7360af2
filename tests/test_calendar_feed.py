"""The private calendar feed: GET /calendar/<secret>.ics, and resetCalendarUrl."""

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import icalendar
import pytest

import models
from app import create_app
from resolvers.calendar_feed import short_name
from tests.conftest import gid, make_provider, make_user, utc
from tests.resolvers.scheduling_helpers import add_appointment, provider_with_client

SCHEDULE = """
mutation Schedule($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id startsAt }
}
"""

CALENDAR_URL = "{ viewer { calendarUrl } }"
RESET = "mutation { resetCalendarUrl }"


@pytest.fixture
async def http():
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(
        transport=transport, base_url="http://rapport.test"
    ) as client:
        yield client


async def feed_url(execute, user) -> str:
    result = await execute(CALENDAR_URL, as_user=user)
    return result.data["viewer"]["calendarUrl"]


async def fetch(http, url):
    return await http.get(urlsplit(url).path)


def events_of(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


async def test_weekly_series_across_dst_is_in_the_feed_at_the_right_instants(
    execute, now, http
):
    # given: ten Mondays at 10:00 New York from four weeks before DST starts
    now(utc(2027, 2, 1, 12))
    provider, client = await provider_with_client(utc(2027, 1, 20, 15))
    await execute(
        SCHEDULE,
        {
            "input": {
                "clientId": gid("User", client.id),
                "startsAt": "2027-02-15T10:00:00-05:00",
                "format": "VIDEO",
                "recurrence": {"frequency": "WEEKLY", "count": 10},
            }
        },
        provider.user,
    )

    # when
    response = await fetch(http, await feed_url(execute, provider.user))

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["x-wr-calname"]) == "Rapport"
    sessions = [e for e in calendar.walk("VEVENT") if e["dtstart"].dt.month > 1]
    expected = [utc(2027, 2, 15, 15) + timedelta(weeks=w) for w in range(4)] + [
        utc(2027, 3, 15, 14) + timedelta(weeks=w) for w in range(6)
    ]
    assert [e["dtstart"].dt for e in sessions] == expected
    assert [e["dtend"].dt - e["dtstart"].dt for e in sessions] == [
        timedelta(minutes=50)
    ] * 10
    assert all(e["dtstart"].dt.utcoffset() == timedelta(0) for e in sessions)
    assert len({str(e["uid"]) for e in sessions}) == 10


async def test_events_say_who_and_when_but_nothing_clinical(execute, now, http):
    # given
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(
        utc(2027, 5, 20, 14), name="Dana Provider"
    )
    client.name = "Avery Client"
    await client.save()
    video = await add_appointment(
        provider, client, utc(2027, 6, 15, 14), join_info="https://zoom.example/j/99"
    )
    cancelled = await add_appointment(
        provider, client, utc(2027, 6, 22, 14), status="CANCELLED"
    )
    cancelled.cancel_reason = "panic attacks got worse"
    await cancelled.save()
    office = await add_appointment(
        provider, client, utc(2027, 6, 29, 14), format="IN_PERSON"
    )
    office.office_label, office.office_address = "Midtown", "1 Main St, New York"
    await office.save()

    # when
    client_body = (await fetch(http, await feed_url(execute, client))).content
    provider_body = (await fetch(http, await feed_url(execute, provider.user))).content

    # then
    for body in (client_body, provider_body):
        assert b"zoom.example" not in body
        assert b"panic" not in body
        assert b"therapy" not in body.lower()
    by_uid = {str(e["uid"]): e for e in events_of(client_body)}
    assert set(by_uid) == {str(e["uid"]) for e in events_of(provider_body)}
    ev = {e["dtstart"].dt: e for e in events_of(client_body)}
    assert str(ev[utc(2027, 5, 20, 14)]["summary"]) == "Intro call with Dana Provider"
    assert str(ev[utc(2027, 6, 15, 14)]["summary"]) == "Appointment with Dana Provider"
    assert str(ev[utc(2027, 6, 15, 14)]["location"]) == (
        "Video session — join details in Rapport"
    )
    assert str(ev[utc(2027, 6, 22, 14)]["status"]) == "CANCELLED"
    assert str(ev[utc(2027, 6, 22, 14)]["summary"]).startswith("Cancelled: ")
    assert str(ev[utc(2027, 6, 15, 14)]["status"]) == "CONFIRMED"
    assert str(ev[utc(2027, 6, 29, 14)]["location"]) == "1 Main St, New York"
    assert all(str(e["class"]) == "PRIVATE" for e in ev.values())
    provider_summaries = {str(e["summary"]) for e in events_of(provider_body)}
    assert "Appointment with Avery C." in provider_summaries
    assert b"Avery Client" not in provider_body
    assert video.id  # the UID is per appointment id
    assert f"appointment-{video.id}@".encode() in client_body


async def test_uids_stay_the_same_across_fetches_and_reschedules(execute, now, http):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14))
    url = await feed_url(execute, client)
    before = {str(e["uid"]) for e in events_of((await fetch(http, url)).content)}

    await execute(
        """mutation($id: ID!) { rescheduleAppointment(id: $id,
             startsAt: "2027-06-16T14:00:00Z") { id } }""",
        {"id": gid("Appointment", session.id)},
        provider.user,
    )
    after = events_of((await fetch(http, url)).content)

    assert {str(e["uid"]) for e in after} == before
    moved = next(e for e in after if f"-{session.id}@" in str(e["uid"]))
    assert moved["dtstart"].dt == utc(2027, 6, 16, 14)


async def test_each_move_or_cancellation_raises_the_sequence(execute, now, http):
    # given a session as a subscribed calendar first sees it
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    session = await add_appointment(provider, client, utc(2027, 6, 15, 14))
    url = await feed_url(execute, client)
    variables = {"id": gid("Appointment", session.id)}

    def sequence(body: bytes) -> int:
        event = next(e for e in events_of(body) if f"-{session.id}@" in str(e["uid"]))
        return int(event["sequence"])

    first = sequence((await fetch(http, url)).content)

    # when the provider moves it, then the client cancels it
    await execute(
        """mutation($id: ID!) { rescheduleAppointment(id: $id,
             startsAt: "2027-06-16T14:00:00Z") { id } }""",
        variables,
        provider.user,
    )
    moved = sequence((await fetch(http, url)).content)
    await execute(
        "mutation($id: ID!) { cancelAppointment(id: $id) { id } }", variables, client
    )
    cancelled = sequence((await fetch(http, url)).content)

    # then every copy a calendar app holds is superseded by the next
    assert first < moved < cancelled


async def test_an_unknown_or_malformed_secret_is_not_found(http):
    await make_user()

    unknown = await http.get("/calendar/" + "A" * 32 + ".ics")
    malformed = await http.get("/calendar/..%2F..%2Fetc.ics")
    without_suffix = await http.get("/calendar/" + "A" * 32)

    assert unknown.status_code == 404
    assert malformed.status_code == 404
    assert without_suffix.status_code == 404


async def test_feed_needs_no_token_and_is_not_cached_by_others(execute, http):
    client = await make_user()

    response = await fetch(http, await feed_url(execute, client))

    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")  # RFC 5545: CRLF
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.walk("VEVENT") == []
    assert str(calendar["refresh-interval"].to_ical().decode()) == "PT1H"


async def test_reset_calendar_url_revokes_the_old_one(execute, http):
    # given
    client = await make_user()
    old = await feed_url(execute, client)

    # when
    result = await execute(RESET, as_user=client)

    # then
    new = result.data["resetCalendarUrl"]
    assert new != old
    assert new.startswith("http") and new.endswith(".ics")
    assert await feed_url(execute, await models.User.get(id=client.id)) == new
    assert (await fetch(http, old)).status_code == 404
    assert (await fetch(http, new)).status_code == 200
    row = await models.User.get(id=client.id)
    assert new.endswith(f"/calendar/{row.calendar_secret}.ics")


async def test_reset_needs_a_signed_in_viewer(execute):
    result = await execute(RESET)

    assert result.code == "UNAUTHENTICATED"


async def test_other_peoples_appointments_stay_out_of_the_feed(execute, now, http):
    now(utc(2027, 6, 1, 12))
    provider, client = await provider_with_client(utc(2027, 5, 20, 14))
    other_provider = await make_provider(name="Other Provider")
    other_client = await make_user(email="other@example.test")
    await add_appointment(other_provider, other_client, utc(2027, 6, 15, 14))

    client_events = events_of(
        (await fetch(http, await feed_url(execute, client))).content
    )
    provider_events = events_of(
        (await fetch(http, await feed_url(execute, provider.user))).content
    )

    assert [e["dtstart"].dt for e in client_events] == [utc(2027, 5, 20, 14)]
    assert [e["dtstart"].dt for e in provider_events] == [utc(2027, 5, 20, 14)]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Avery Client", "Avery C."),
        ("Avery", "Avery"),
        ("  ", "a client"),
        ("Mary Ann de la Cruz", "Mary C."),
    ],
)
def test_providers_see_a_short_name(name, shown):
    assert short_name(name) == shown
