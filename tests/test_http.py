"""The HTTP transport: tokens, log-out, health, GraphiQL, codes for bad documents."""

from collections.abc import AsyncIterator

import httpx
import pytest

from app import create_app

SIGN_UP = """
mutation { signUp(input: {email: "h@example.test", password: "long enough",
  name: "Hana", role: CLIENT, timezone: "Europe/Berlin"}) { token } }
"""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The suite's fixtures own the database and broker, so no lifespan here.
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def post(http: httpx.AsyncClient, query: str, token: str | None = None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query, **kw}, headers=headers)


async def test_a_token_works_until_log_out(http):
    token = (await post(http, SIGN_UP)).json()["data"]["signUp"]["token"]

    before = await post(http, "{ viewer { user { name } } }", token)
    await post(http, "mutation { logOut }", token)
    after = await post(http, "{ viewer { user { name } } }", token)

    assert before.json()["data"]["viewer"]["user"]["name"] == "Hana"
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_malformed_token_is_unauthenticated_not_anonymous(http):
    response = await post(http, "{ viewer { user { name } } }", "not-a-token")

    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_documents_that_do_not_parse_or_validate_get_apollo_codes(http):
    broken = await post(http, "{ providers(")
    unknown = await post(http, "{ noSuchField }")

    assert broken.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert (
        unknown.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    )


async def test_a_variable_that_cannot_be_coerced_is_bad_user_input(http):
    response = await post(
        http,
        "query($at: DateTime!) { providers(filter: {availableFrom: $at, "
        "availableTo: $at}) { edges { cursor } } }",
        variables={"at": "2027-03-15T09:00:00"},
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


GRAPHQL_RESPONSE = "application/graphql-response+json"
APOLLO_ACCEPT = f"{GRAPHQL_RESPONSE},application/json;q=0.9"


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ providers(", None, "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($id: ID!) { provider(id: $id) { name } }",
            {"id": None},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_refused_documents_are_400_without_data_when_asked_for(
    http, query, variables, code
):
    headers = {"Accept": APOLLO_ACCEPT}

    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_plain_json_clients_still_get_200_with_data_null(http):
    response = await post(http, "{ noSuchField }")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"] is None


async def test_answers_and_field_errors_are_200_in_either_type(http):
    headers = {"Accept": GRAPHQL_RESPONSE}
    query = '{ insurancePlans { id } provider(id: "bm90IGFuIGlk") { name } }'
    answered = await http.post("/graphql", json={"query": query}, headers=headers)
    anonymous = await http.post(
        "/graphql", json={"query": "mutation { logOut }"}, headers=headers
    )

    assert answered.status_code == 200
    assert answered.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert answered.json()["data"]["insurancePlans"] == []
    assert anonymous.status_code == 200
    assert anonymous.json()["data"] is None
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_queries_work_over_get(http):
    response = await http.get("/graphql", params={"query": "{ insurancePlans { id } }"})

    assert response.status_code == 200
    assert response.json() == {"data": {"insurancePlans": []}}


async def test_graphiql_is_served_from_our_own_assets(http):
    response = await http.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "/static/graphiql/" in response.text
    assert "unpkg.com" not in response.text


async def test_health_and_readiness(http):
    assert (await http.get("/healthz")).status_code == 200
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] is True


@pytest.mark.parametrize("body", [b'"hello"', b"12", b'{"query": "{ x \xff }"}'])
async def test_a_body_that_is_not_a_json_object_is_a_coded_400(http, body):
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


DIRECTORY_PAGE = "{ providers(first: 5) { edges { node { id name } } } }"


async def test_an_anonymous_repeat_of_the_directory_is_served_fresh_from_cache(http):
    # given a page asked for once
    from tests.conftest import make_provider

    await make_provider(name="First")
    first = await post(http, DIRECTORY_PAGE)

    # when it is asked again, and again after a new provider joins
    again = await post(http, DIRECTORY_PAGE)
    await make_provider(name="Second")
    after_change = await post(http, DIRECTORY_PAGE)

    # then the repeat is a hit and the change shows in the very next response
    assert first.headers.get("x-rapport-cache") == "miss"
    assert again.headers.get("x-rapport-cache") == "hit"
    assert again.json() == first.json()
    names = [
        e["node"]["name"] for e in after_change.json()["data"]["providers"]["edges"]
    ]
    assert names == ["First", "Second"]


async def test_the_cached_directory_keeps_each_media_type_apart(http):
    from tests.conftest import make_provider

    await make_provider(name="First")
    as_json = await post(http, DIRECTORY_PAGE)
    headers = {"Accept": APOLLO_ACCEPT}
    newer = [
        await http.post("/graphql", json={"query": DIRECTORY_PAGE}, headers=headers)
        for _ in range(2)
    ]

    assert as_json.headers["content-type"].startswith("application/json")
    assert [r.headers.get("x-rapport-cache") for r in newer] == ["miss", "hit"]
    assert all(r.headers["content-type"].startswith(GRAPHQL_RESPONSE) for r in newer)
    assert newer[1].json() == as_json.json()


async def test_a_date_time_without_an_offset_is_bad_user_input_inline_too(http):
    query = (
        '{ providers(filter: {availableFrom: "2027-03-08T00:00:00", '
        'availableTo: "2027-03-09T00:00:00Z"}) { edges { cursor } } }'
    )

    response = await post(http, query)

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "with an offset" in error["message"]


async def test_several_operations_without_a_name_run_none_of_them(http):
    token = (await post(http, SIGN_UP)).json()["data"]["signUp"]["token"]

    response = await post(http, "query A { __typename } mutation B { logOut }", token)
    still_in = await post(http, "{ viewer { user { name } } }", token)

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "operationName" in response.json()["errors"][0]["message"]
    assert still_in.json()["data"]["viewer"]["user"]["name"] == "Hana"


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("query($x: Int) { insurancePlans { id } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ providers(first: $y) { edges { cursor } } }",
            {},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($a: String) { provider(id: $a) { id } }",
            {"a": "x"},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("query($a: ID!) { provider(id: $a) { id } }", {}, "BAD_USER_INPUT"),
        ("query($a: ID!) { provider(id: $a) { id } }", {"a": None}, "BAD_USER_INPUT"),
        (
            "query($n: Int) { providers(first: $n) { edges { cursor } } }",
            {"n": "x"},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_a_document_misusing_variables_is_invalid_a_bad_value_is_bad_input(
    http, query, variables, code
):
    response = await post(http, query, variables=variables)

    assert response.json()["errors"][0]["extensions"]["code"] == code
