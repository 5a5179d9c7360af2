"""The directory: filters, pagination, and reading one provider."""

import pytest

import models
from resolvers.providers import sync_tags
from schema.pagination import encode_cursor
from tests.conftest import gid, make_provider, make_user, utc

DIRECTORY = """
query Directory($filter: ProviderFilter, $first: Int, $after: String) {
  providers(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


def names(result) -> list[str]:
    return [edge["node"]["name"] for edge in result.data["providers"]["edges"]]


async def plan(name: str = "Aetna Choice POS II") -> models.InsurancePlan:
    return await models.InsurancePlan.create(name=name, payer=name.split()[0])


async def test_every_filter_narrows_the_list(execute):
    aetna, cigna = await plan(), await plan("Cigna LocalPlus")
    match = await make_provider(
        name="Ada Match",
        licensed_states=["NY", "NJ"],
        specialties=["Anxiety", "Grief"],
        modalities=["CBT"],
        languages=["English", "Spanish"],
        formats=["VIDEO", "IN_PERSON"],
    )
    await match.plans.add(aetna)
    other = await make_provider(
        name="Bo Other",
        licensed_states=["CA"],
        specialties=["ADHD"],
        modalities=["EMDR"],
        languages=["English"],
        accepting_new_clients=False,
    )
    await other.plans.add(cigna)

    filters = [
        {"state": "ny"},
        {"insurancePlanId": gid("InsurancePlan", aetna.id)},
        {"specialty": "grief"},
        {"modality": "CBT"},
        {"language": "Spanish"},
        {"format": "IN_PERSON"},
        {"acceptingNewClients": True},
        {"search": "anx"},
        {"search": "ada"},
    ]
    for directory_filter in filters:
        result = await execute(DIRECTORY, {"filter": directory_filter})
        assert names(result) == ["Ada Match"], directory_filter


async def test_providers_are_listed_by_name_then_id_across_pages(execute):
    for name in ["Cy", "Al", "Bea", "Al"]:
        await make_provider(name=name)

    first = await execute(DIRECTORY, {"first": 3})
    cursor = first.data["providers"]["pageInfo"]["endCursor"]
    second = await execute(DIRECTORY, {"first": 3, "after": cursor})

    assert names(first) == ["Al", "Al", "Bea"]
    assert first.data["providers"]["pageInfo"]["hasNextPage"] is True
    assert names(second) == ["Cy"]
    assert second.data["providers"]["pageInfo"]["hasNextPage"] is False


async def test_a_page_size_of_ten_thousand_returns_at_most_one_hundred(execute):
    users = [
        models.User(
            email=f"p{i}@example.test",
            password_hash="-",
            name=f"P{i:03}",
            role=models.Role.PROVIDER,
            timezone="UTC",
        )
        for i in range(120)
    ]
    await models.User.bulk_create(users)
    stored = await models.User.all()
    await models.Provider.bulk_create(
        [models.Provider(user_id=u.id, name=u.name, timezone="UTC") for u in stored]
    )

    result = await execute(DIRECTORY, {"first": 10000})

    assert len(result.data["providers"]["edges"]) == 100
    assert result.data["providers"]["pageInfo"]["hasNextPage"] is True


async def test_a_negative_page_size_is_bad_user_input(execute):
    result = await execute(DIRECTORY, {"first": -1})

    assert result.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "cursor",
    [
        "bm90IGEgY3Vyc29y",  # "not a cursor"
        "",
        # an appointment list's cursor: an instant and an id
        encode_cursor("2027-03-08T14:00:00+00:00", 1),
    ],
)
async def test_a_foreign_cursor_is_bad_user_input(execute, cursor):
    await make_provider()

    result = await execute(DIRECTORY, {"after": cursor})

    assert result.code == "BAD_USER_INPUT"


async def test_a_search_too_long_for_a_word_is_bad_user_input(execute):
    result = await execute(DIRECTORY, {"filter": {"search": "a" * 100_000}})

    assert result.code == "BAD_USER_INPUT"
    assert "at most 200 characters" in result.errors[0]["message"]


async def test_availability_filter_keeps_only_providers_with_an_open_time(execute, now):
    now(utc(2027, 6, 1, 12))
    await make_provider(name="Weekdays", windows=[(d, 540, 1020) for d in range(1, 6)])
    await make_provider(name="Sundays", windows=[(7, 540, 1020)])

    # Saturday 2027-06-05 to Sunday 2027-06-06, New York.
    saturday = await execute(
        DIRECTORY,
        {
            "filter": {
                "availableFrom": "2027-06-05T00:00:00-04:00",
                "availableTo": "2027-06-06T00:00:00-04:00",
            }
        },
    )
    sunday = await execute(
        DIRECTORY,
        {
            "filter": {
                "availableFrom": "2027-06-06T00:00:00-04:00",
                "availableTo": "2027-06-07T00:00:00-04:00",
            }
        },
    )

    assert names(saturday) == []
    assert names(sunday) == ["Sundays"]


async def test_unknown_provider_id_is_null(execute):
    result = await execute(
        "query($id: ID!) { provider(id: $id) { name } }", {"id": gid("Provider", 42)}
    )

    assert result.data == {"provider": None}


async def test_node_resolves_providers_and_plans_for_anyone(execute):
    provider = await make_provider(name="Noded")
    aetna = await plan()
    await sync_tags(provider)

    result = await execute(
        """query($a: ID!, $b: ID!) {
             a: node(id: $a) { ... on Provider { name } }
             b: node(id: $b) { ... on InsurancePlan { name } } }""",
        {"a": gid("Provider", provider.id), "b": gid("InsurancePlan", aetna.id)},
    )

    assert result.data == {"a": {"name": "Noded"}, "b": {"name": "Aetna Choice POS II"}}


async def test_listing_open_times_is_bounded_per_request(execute, now):
    # Three providers open around the clock on a 5-minute step: a year each
    # is ~105,000 open times, far past one request's budget.
    now(utc(2027, 6, 1, 12))
    for name in ("One", "Two", "Three"):
        await make_provider(
            name=name,
            timezone="UTC",
            slot_step_minutes=5,
            windows=[(day, 0, 1440) for day in range(1, 8)],
        )

    every_slot = """query($to: DateTime!) { providers { edges { node {
        availableSlots(from: "2027-06-02T00:00:00Z", to: $to) { startsAt } } } } }"""

    result = await execute(every_slot, {"to": "2028-06-01T00:00:00Z"})
    narrow = await execute(every_slot, {"to": "2027-06-03T00:00:00Z"})

    assert result.code == "BAD_USER_INPUT"
    assert "open times" in result.errors[0]["message"]
    assert narrow.errors == []


async def test_open_times_asked_backwards_are_bad_user_input(execute):
    provider = await make_provider()

    result = await execute(
        """query($id: ID!) { provider(id: $id) {
             availableSlots(from: "2027-06-03T00:00:00Z", to: "2027-06-02T00:00:00Z") {
               startsAt } } }""",
        {"id": gid("Provider", provider.id)},
    )

    assert result.code == "BAD_USER_INPUT"


async def test_a_state_that_is_not_a_us_state_code_is_bad_user_input(execute):
    await make_provider()

    named = await execute(DIRECTORY, {"filter": {"state": "New York"}})
    coded = await execute(DIRECTORY, {"filter": {"state": " ny "}})

    assert named.code == "BAD_USER_INPUT"
    assert "like NY" in named.errors[0]["message"]
    assert len(coded.data["providers"]["edges"]) == 1


OPEN_TIMES = """
query Open($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) {
    nextAvailableSlot { startsAt }
    availableSlots(from: $from, to: $to) { startsAt }
  }
  providers(filter: {availableFrom: $from, availableTo: $to}) {
    edges { node { id } }
  }
}
"""


async def test_a_provider_not_taking_new_clients_shows_no_open_times(execute, now):
    # given a provider with open hours who stops taking new clients
    now(utc(2027, 6, 1, 12))
    provider = await make_provider(accepting_new_clients=False)
    variables = {
        "id": gid("Provider", provider.id),
        "from": "2027-06-02T00:00:00Z",
        "to": "2027-06-09T00:00:00Z",
    }

    result = await execute(OPEN_TIMES, variables)

    # then nothing is offered that booking would refuse
    assert result.data["provider"] == {"nextAvailableSlot": None, "availableSlots": []}
    assert result.data["providers"]["edges"] == []
