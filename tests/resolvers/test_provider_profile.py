"""A provider's own profile, weekly hours and time off."""

import pytest

import models
from tests.conftest import gid, make_provider, make_user, utc

UPDATE = """
mutation Update($input: ProviderProfileInput!) {
  updateProviderProfile(input: $input) {
    name credentials specialties licensedStates acceptingNewClients
    insurancePlans { name } offices { label state } bookingHorizonDays
  }
}
"""
SET_WINDOWS = """
mutation Windows($windows: [AvailabilityWindowInput!]!) {
  setWeeklyAvailability(windows: $windows) { id }
}
"""
TIME_OFF = """
mutation Off($from: DateTime!, $to: DateTime!) {
  addTimeOff(startsAt: $from, endsAt: $to, reason: "conference") { id }
}
"""
SLOTS = """
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) { availableSlots(from: $from, to: $to) { startsAt } }
}
"""


async def test_what_is_given_changes_and_what_is_left_out_stays(execute):
    provider = await make_provider(name="Before", credentials="LCSW")
    aetna = await models.InsurancePlan.create(name="Aetna Open Access", payer="Aetna")

    result = await execute(
        UPDATE,
        {
            "input": {
                "specialties": ["Grief", "grief", "Anxiety"],
                "licensedStates": ["ny", "NJ"],
                "insurancePlanIds": [gid("InsurancePlan", aetna.id)],
                "offices": [{"label": "Main", "address": "1 Main St", "state": "NY"}],
            }
        },
        provider.user,
    )

    profile = result.data["updateProviderProfile"]
    assert profile["name"] == "Before"
    assert profile["credentials"] == "LCSW"
    assert profile["specialties"] == ["Grief", "Anxiety"]
    assert profile["licensedStates"] == ["NY", "NJ"]
    assert profile["insurancePlans"] == [{"name": "Aetna Open Access"}]
    assert profile["offices"] == [{"label": "Main", "state": "NY"}]
    tags = await models.ProviderTag.filter(provider=provider, kind="state")
    assert sorted(t.value for t in tags) == ["NJ", "NY"]


async def test_invalid_profile_changes_nothing(execute):
    provider = await make_provider(name="Kept")

    results = [
        await execute(
            UPDATE, {"input": {"name": "New", "timezone": "Mars/Base"}}, provider.user
        ),
        await execute(
            UPDATE, {"input": {"name": "New", "bookingHorizonDays": 400}}, provider.user
        ),
        await execute(UPDATE, {"input": {"licensedStates": ["ZZ"]}}, provider.user),
        await execute(
            UPDATE,
            {"input": {"insurancePlanIds": [gid("InsurancePlan", 9)]}},
            provider.user,
        ),
    ]

    assert [r.code for r in results] == [
        "BAD_USER_INPUT",
        "BAD_USER_INPUT",
        "BAD_USER_INPUT",
        "NOT_FOUND",
    ]
    stored = await models.Provider.get(id=provider.id)
    assert (stored.name, stored.timezone, stored.licensed_states) == (
        "Kept",
        "America/New_York",
        ["NY"],
    )


async def test_only_providers_edit_a_profile(execute):
    client = await make_user()

    anonymous = await execute(UPDATE, {"input": {"name": "x"}})
    as_client = await execute(UPDATE, {"input": {"name": "x"}}, client)

    assert anonymous.code == "UNAUTHENTICATED"
    assert as_client.code == "FORBIDDEN"


async def test_window_ending_at_midnight_is_accepted(execute):
    provider = await make_provider(windows=[])

    result = await execute(
        SET_WINDOWS,
        {"windows": [{"weekday": 3, "start": "21:00", "end": "24:00"}]},
        provider.user,
    )

    assert result.errors == []
    window = await models.AvailabilityWindow.get(provider=provider)
    assert (window.weekday, window.start_minute, window.end_minute) == (3, 1260, 1440)


async def test_a_window_that_ends_before_it_starts_is_refused_and_nothing_changes(
    execute,
):
    provider = await make_provider(windows=[(1, 540, 1020)])

    results = [
        await execute(
            SET_WINDOWS,
            {"windows": [{"weekday": 1, "start": "17:00", "end": "09:00"}]},
            provider.user,
        ),
        await execute(
            SET_WINDOWS,
            {"windows": [{"weekday": 8, "start": "09:00", "end": "10:00"}]},
            provider.user,
        ),
        await execute(
            SET_WINDOWS,
            {"windows": [{"weekday": 1, "start": "9am", "end": "10:00"}]},
            provider.user,
        ),
    ]

    assert [r.code for r in results] == ["BAD_USER_INPUT"] * 3
    windows = await models.AvailabilityWindow.filter(provider=provider)
    assert [(w.start_minute, w.end_minute) for w in windows] == [(540, 1020)]


async def test_time_off_removes_open_times(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()
    variables = {
        "id": gid("Provider", provider.id),
        "from": "2027-06-15T00:00:00Z",
        "to": "2027-06-16T00:00:00Z",
    }

    before = await execute(SLOTS, variables)
    await execute(
        TIME_OFF,
        {"from": "2027-06-15T00:00:00Z", "to": "2027-06-16T00:00:00Z"},
        provider.user,
    )
    after = await execute(SLOTS, variables)

    assert before.data["provider"]["availableSlots"]
    assert after.data["provider"]["availableSlots"] == []


async def test_time_off_that_ends_before_it_starts_is_refused(execute, now):
    now(utc(2027, 6, 1, 12))
    provider = await make_provider()

    result = await execute(
        TIME_OFF,
        {"from": "2027-06-16T00:00:00Z", "to": "2027-06-15T00:00:00Z"},
        provider.user,
    )

    assert result.code == "BAD_USER_INPUT"
    assert await models.TimeOff.all().count() == 0


async def test_a_window_cannot_offer_phone_sessions(execute):
    provider = await make_provider(windows=[])

    result = await execute(
        SET_WINDOWS,
        {
            "windows": [
                {"weekday": 1, "start": "09:00", "end": "12:00", "formats": ["PHONE"]}
            ]
        },
        provider.user,
    )

    assert result.code == "BAD_USER_INPUT"
    assert await models.AvailabilityWindow.filter(provider=provider).count() == 0


async def test_an_id_of_another_type_names_the_expected_type_in_words(execute):
    provider = await make_provider()

    result = await execute(
        UPDATE, {"input": {"insurancePlanIds": [gid("Provider", 9)]}}, provider.user
    )

    assert result.errors[0]["message"].startswith("No insurance plan has the id")


PROFILE_LISTS = """
mutation Lists($input: ProviderProfileInput!) {
  updateProviderProfile(input: $input) { specialties offices { label } }
}
"""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("specialties", [f"s{i}" for i in range(20_000)], "at most 30 specialties"),
        (
            "offices",
            [
                {"label": f"o{i}", "address": "1 Main St", "state": "NY"}
                for i in range(21)
            ],
            "at most 20 offices",
        ),
        (
            "insurancePlanIds",
            [gid("InsurancePlan", i) for i in range(1, 202)],
            "at most 200 insurancePlanIds",
        ),
    ],
)
async def test_oversized_lists_are_refused_and_nothing_changes(
    execute, field, value, message
):
    provider = await make_provider(specialties=["Grief"])

    result = await execute(PROFILE_LISTS, {"input": {field: value}}, provider.user)

    assert result.code == "BAD_USER_INPUT"
    assert message in result.errors[0]["message"]
    stored = await models.Provider.get(id=provider.id)
    assert stored.specialties == ["Grief"]
    assert await models.Office.filter(provider_id=provider.id).count() == 0


async def test_copies_of_a_window_are_stored_once(execute):
    provider = await make_provider(windows=[])
    monday = {"weekday": 1, "start": "09:00", "end": "17:00"}

    result = await execute(SET_WINDOWS, {"windows": [monday] * 50}, provider.user)

    assert result.errors == []
    assert await models.AvailabilityWindow.filter(provider_id=provider.id).count() == 1


async def test_in_person_sessions_need_an_office(execute):
    provider = await make_provider(formats=["VIDEO"])
    office = {"label": "Midtown", "address": "1 Main St", "state": "NY"}

    without = await execute(
        PROFILE_LISTS, {"input": {"formats": ["IN_PERSON"]}}, provider.user
    )
    together = await execute(
        PROFILE_LISTS,
        {"input": {"formats": ["VIDEO", "IN_PERSON"], "offices": [office]}},
        provider.user,
    )
    emptied = await execute(PROFILE_LISTS, {"input": {"offices": []}}, provider.user)

    assert without.code == "BAD_USER_INPUT"
    assert "office" in without.errors[0]["message"]
    assert together.errors == []
    assert emptied.code == "BAD_USER_INPUT"
    stored = await models.Provider.get(id=provider.id)
    assert stored.formats == ["VIDEO", "IN_PERSON"]
    assert await models.Office.filter(provider_id=provider.id).count() == 1


async def test_profile_text_shown_to_clients_is_one_line(execute):
    provider = await make_provider(name="Kept")

    result = await execute(
        UPDATE, {"input": {"name": "Dr. Kept\nCall me at 555-0100"}}, provider.user
    )
    hidden = {"label": "Main\u202e", "address": "1 Main St", "state": "NY"}
    office = await execute(
        PROFILE_LISTS, {"input": {"offices": [hidden]}}, provider.user
    )

    assert result.code == office.code == "BAD_USER_INPUT"
    assert (await models.Provider.get(id=provider.id)).name == "Kept"
