"""Anonymous directory pages come from the cache, and are never stale."""

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.routing import Route

import models
from app import create_app
from tests.conftest import gid, make_provider, make_user, utc
from web.directory_cache import DirectoryCache

PAGE = """
query Page($first: Int) {
  providers(filter: {state: "NY"}, first: $first) {
    edges { node { id name credentials nextAvailableSlot { startsAt } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
PAGE_AND_PLANS = """
{ providers { edges { node { name } } } insurancePlans { name } }
"""
PAGE_WITH_SLOTS = """
query Slots($from: DateTime!, $to: DateTime!) {
  providers(filter: {state: "NY"}) {
    edges { node { name availableSlots(from: $from, to: $to) { startsAt } } }
  }
}
"""
BOOK = """
mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }
"""
CANCEL = "mutation Cancel($id: ID!) { cancelAppointment(id: $id) { id status } }"
UPDATE = """
mutation { updateProviderProfile(input: {credentials: "PsyD"}) { credentials } }
"""


def graphql_route(app) -> Route:
    return next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    assert isinstance(graphql_route(app).app, DirectoryCache)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def page(http, document: str = PAGE, variables=None, **headers) -> httpx.Response:
    response = await http.post(
        "/graphql",
        json={"query": document, "variables": variables or {}},
        headers=headers,
    )
    assert response.status_code == 200
    assert "errors" not in response.json(), response.json()
    return response


def first_node(response: httpx.Response) -> dict:
    return response.json()["data"]["providers"]["edges"][0]["node"]


async def test_the_same_anonymous_page_is_answered_again_from_the_cache(http, now):
    # given
    now(utc(2027, 6, 1, 12))
    await make_provider()

    # when
    first = await page(http)
    second = await page(http)

    # then
    assert first.headers["x-rapport-cache"] == "miss"
    assert second.headers["x-rapport-cache"] == "hit"
    assert second.json() == first.json()
    assert first_node(second)["nextAvailableSlot"] == {
        "startsAt": "2027-06-01T13:00:00Z"
    }


async def test_a_booking_and_its_cancellation_show_in_the_very_next_response(
    http, execute, now
):
    # given
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    client = await make_user()
    await page(http)
    await page(http)

    # when
    booked = await execute(
        BOOK,
        {
            "input": {
                "providerId": gid("Provider", provider.id),
                "startsAt": "2027-06-01T13:00:00Z",
                "format": "PHONE",
            }
        },
        client,
    )
    after_booking = await page(http)
    await execute(CANCEL, {"id": booked.data["bookAppointment"]["id"]}, client)
    after_cancelling = await page(http)

    # then
    assert after_booking.headers["x-rapport-cache"] == "miss"
    assert first_node(after_booking)["nextAvailableSlot"] == {
        "startsAt": "2027-06-01T13:30:00Z"
    }
    assert first_node(after_cancelling)["nextAvailableSlot"] == {
        "startsAt": "2027-06-01T13:00:00Z"
    }
    assert await models.Appointment.filter(status="CANCELLED").count() == 1


async def test_a_profile_change_shows_in_the_very_next_response(http, execute, now):
    # given
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(credentials="LCSW")
    await page(http)
    await page(http)

    # when
    await execute(UPDATE, as_user=await models.User.get(id=provider.user_id))
    response = await page(http)

    # then
    assert response.headers["x-rapport-cache"] == "miss"
    assert first_node(response)["credentials"] == "PsyD"


async def test_a_provider_joining_the_page_shows_in_the_very_next_response(http, now):
    # given
    now(utc(2027, 6, 1, 12))
    await make_provider(name="Dana Provider")
    await page(http)
    await page(http)

    # when
    await make_provider(name="Avery Provider")
    response = await page(http)

    # then
    names = [e["node"]["name"] for e in response.json()["data"]["providers"]["edges"]]
    assert names == ["Avery Provider", "Dana Provider"]


async def test_an_open_time_inside_the_minimum_notice_is_no_longer_shown(http, now):
    # given: with 24 hours' notice, the first open time is 13:00 tomorrow
    now(utc(2027, 6, 1, 12, 30))
    await make_provider(minimum_notice_hours=24)
    before = await page(http)

    # when: 13:00 tomorrow is now less than 24 hours away
    now(utc(2027, 6, 1, 13, 0, 1))
    after = await page(http)

    # then
    assert first_node(before)["nextAvailableSlot"] == {
        "startsAt": "2027-06-02T13:00:00Z"
    }
    assert after.headers["x-rapport-cache"] == "miss"
    assert first_node(after)["nextAvailableSlot"] == {
        "startsAt": "2027-06-02T13:30:00Z"
    }


async def test_an_open_time_the_horizon_reaches_is_shown(http, now):
    # given: a two-day horizon ending before Thursday's hours
    now(utc(2027, 6, 1, 12))
    await make_provider(booking_horizon_days=2, windows=[(4, 9 * 60, 17 * 60)])
    variables = {"from": "2027-06-01T00:00:00Z", "to": "2027-06-10T00:00:00Z"}
    before = await page(http, PAGE_WITH_SLOTS, variables)

    # when: a day later the horizon takes in Thursday 09:00 New York
    now(utc(2027, 6, 2, 13))
    after = await page(http, PAGE_WITH_SLOTS, variables)

    # then
    assert first_node(before)["availableSlots"] == []
    assert after.headers["x-rapport-cache"] == "miss"
    assert first_node(after)["availableSlots"][0] == {
        "startsAt": "2027-06-03T13:00:00Z"
    }


async def test_a_signed_in_viewer_is_never_answered_from_the_cache(http):
    # given (on the real clock, which tokens are checked against)
    await make_provider()
    await page(http)
    token = await _token()

    # when
    response = await page(http, authorization=f"Bearer {token}")

    # then
    assert "x-rapport-cache" not in response.headers


async def test_no_cache_asks_for_a_freshly_computed_page(http, now):
    # given
    now(utc(2027, 6, 1, 12))
    await make_provider()
    await page(http)

    # when
    response = await page(http, **{"cache-control": "no-cache"})

    # then
    assert "x-rapport-cache" not in response.headers


async def test_a_document_with_other_root_fields_is_not_kept(http, now):
    # given
    now(utc(2027, 6, 1, 12))
    await make_provider()
    await page(http, PAGE_AND_PLANS)

    # when
    response = await page(http, PAGE_AND_PLANS)

    # then
    assert response.headers["x-rapport-cache"] == "miss"


async def _token() -> str:
    from resolvers.auth import issue_token

    return await issue_token(await make_user(email="viewer@example.test"))


async def test_the_cache_holds_a_bounded_number_of_bytes(now):
    # given a cache with room for about one page
    now(utc(2027, 6, 1, 12))
    for n in range(3):
        await make_provider(name=f"Provider {n}")
    app = create_app()
    route = graphql_route(app)
    one_page = 600
    route.app = cache = DirectoryCache(route.app.app, max_bytes=one_page)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        # when two different pages are asked for, then the first again
        first = await page(http, variables={"first": 1})
        second = await page(http, variables={"first": 2})
        again = await page(http, variables={"first": 1})

    # then the older page made room and had to be computed again
    assert len(first.content) <= one_page < len(first.content) + len(second.content)
    assert again.headers["x-rapport-cache"] == "miss"
    assert 0 < cache.bytes <= one_page
