"""Security limits: depth, aliases, tokens, body size, pages, introspection, CORS."""

from collections.abc import AsyncIterator

import httpx
import pytest

from app import create_app
from settings import Settings, get_settings, override_settings
from tests.conftest import make_provider

DIRECTORY = "{ providers { edges { node { name } } } }"
SIXTY_ALIASES = (
    "{ "
    + " ".join(f"d{i}: providers {{ edges {{ node {{ name }} }} }}" for i in range(60))
    + " }"
)
FIVE_THOUSAND_FIELDS = "{ insurancePlans { " + " ".join(["id"] * 5000) + " } }"
# Depth counts from the root field's children: providers > ... > id is 4.
DEEP = "{ providers { edges { node { insurancePlans { id } } } } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
PAGE = "query($first: Int) { providers(first: $first) { edges { node { name } } } }"


def client_for(settings: Settings | None = None) -> httpx.AsyncClient:
    # The suite's fixtures own the database and broker, so no lifespan here.
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as client:
        yield client


async def still_serves(http: httpx.AsyncClient) -> bool:
    response = await http.post("/graphql", json={"query": DIRECTORY})
    return response.status_code == 200 and "errors" not in response.json()


def first_error(response: httpx.Response) -> dict:
    return response.json()["errors"][0]


def test_defaults_are_the_ones_api_md_promises():
    settings = Settings()

    assert settings.max_query_depth == 12
    assert settings.max_aliases == 15
    assert settings.max_tokens == 2000
    assert settings.max_body_bytes == 1_000_000
    assert settings.max_page_size == 100


async def test_sixty_aliased_directory_queries_are_refused(http):
    response = await http.post("/graphql", json={"query": SIXTY_ALIASES})

    assert response.status_code == 200
    assert first_error(response)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert first_error(response)["message"] == "60 aliases found. Allowed: 15"
    assert response.json()["data"] is None
    assert await still_serves(http)


async def test_a_five_thousand_field_query_is_refused_by_the_token_limit(http):
    response = await http.post("/graphql", json={"query": FIVE_THOUSAND_FIELDS})

    error = first_error(response)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == (
        "The document has more than 2,000 tokens: ask for fewer fields, or split "
        "it into several requests."
    )
    assert await still_serves(http)


async def test_a_query_deeper_than_the_limit_is_refused(http):
    with override_settings(max_query_depth=3):
        refused = await http.post("/graphql", json={"query": DEEP})
    with override_settings(max_query_depth=4):
        allowed = await http.post("/graphql", json={"query": DEEP})

    error = first_error(refused)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth of 3" in error["message"]
    assert "errors" not in allowed.json()


async def test_alias_and_token_limits_follow_the_settings(http):
    two_aliases = "{ a: insurancePlans { id } b: insurancePlans { id } }"  # 16 tokens

    with override_settings(max_aliases=1):
        aliases = await http.post("/graphql", json={"query": two_aliases})
    with override_settings(max_tokens=10):
        tokens = await http.post("/graphql", json={"query": two_aliases})
    served = await http.post("/graphql", json={"query": two_aliases})

    assert first_error(aliases)["message"] == "2 aliases found. Allowed: 1"
    assert "more than 10 tokens" in first_error(tokens)["message"]
    assert "errors" not in served.json()


async def test_a_two_megabyte_body_is_413_with_a_json_error(http):
    body = b'{"query": "{ insurancePlans { id } }", "pad": "' + b"x" * 2_000_000 + b'"}'

    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    error = first_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "larger than the 1,000,000-byte limit" in error["message"]
    assert await still_serves(http)


async def test_a_chunked_body_without_a_length_is_held_to_the_same_limit(http):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ insurancePlans { id } }", "pad": "'
        for _ in range(30):
            yield b"x" * 50_000
        yield b'"}'

    response = await http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert first_error(response)["extensions"]["code"] == "BAD_USER_INPUT"
    assert await still_serves(http)


async def test_a_body_just_under_the_limit_is_served(http):
    with override_settings(max_body_bytes=200):
        body = {"query": "{ insurancePlans { id } }", "pad": "x" * 100}
        response = await http.post("/graphql", json=body)

    assert response.status_code == 200
    assert response.json() == {"data": {"insurancePlans": []}}


async def test_malformed_json_is_400_with_a_json_error(http):
    response = await http.post(
        "/graphql",
        content=b'{"query": "{ insurancePlans { id } }"',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = first_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("The request body is not valid JSON")
    assert await still_serves(http)


@pytest.mark.parametrize(
    ("content", "content_type", "words"),
    [
        (b"{ insurancePlans { id } }", "text/plain", "application/json"),
        (b"[]", "application/json", "Batching"),
        (b'{"variables": {}}', "application/json", "No GraphQL query found"),
        (
            b'{"query": "{ viewer { user { id } } }", "variables": 3}',
            "application/json",
            "variables",
        ),
    ],
)
async def test_other_transport_mistakes_get_json_errors_too(
    http, content, content_type, words
):
    response = await http.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )

    assert response.status_code == 400
    assert words in first_error(response)["message"]
    assert first_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_mutation_over_get_is_refused_in_json(http):
    response = await http.get("/graphql", params={"query": "mutation { logOut }"})

    # GraphQL over HTTP: 405, naming the method to use
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert first_error(response)["extensions"]["code"] == "BAD_USER_INPUT"
    assert "sent with POST, never GET" in first_error(response)["message"]


async def test_pages_are_capped_by_the_setting_and_negative_is_refused(execute):
    for name in ("Ada", "Bea", "Cy"):
        await make_provider(name=name)

    with override_settings(max_page_size=2):
        capped = await execute(PAGE, {"first": 500})
    negative = await execute(PAGE, {"first": -1})

    assert len(capped.data["providers"]["edges"]) == 2
    assert negative.code == "BAD_USER_INPUT"


async def test_introspection_can_be_turned_off():
    async with client_for(Settings(introspection=False)) as closed:
        refused = await closed.post("/graphql", json={"query": INTROSPECTION})
    async with client_for() as open_:
        allowed = await open_.post("/graphql", json={"query": INTROSPECTION})

    assert first_error(refused)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection has been disabled" in first_error(refused)["message"]
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_graphiql_can_be_turned_off():
    browser = {"accept": "text/html"}
    async with client_for(Settings(graphiql=False)) as closed:
        page = await closed.get("/graphql", headers=browser)
        query = await closed.get("/graphql", params={"query": "{ __typename }"})

    assert page.status_code == 404
    assert first_error(page)["extensions"]["code"] == "NOT_FOUND"
    assert "graphiql" not in page.text.lower()
    assert query.json() == {"data": {"__typename": "Query"}}


async def test_cors_answers_only_configured_origins():
    allowed = "https://app.example.test"
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    async with client_for(Settings(cors_origins=[allowed])) as http:
        ok = await http.options("/graphql", headers={"origin": allowed, **preflight})
        other = await http.options(
            "/graphql", headers={"origin": "https://evil.example.test", **preflight}
        )
        simple = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"origin": "https://evil.example.test"},
        )
    async with client_for(Settings(cors_origins=[])) as closed:
        none = await closed.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": allowed}
        )

    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in none.headers


async def test_refusals_written_before_the_app_carry_cors_headers_too():
    allowed = "https://app.example.test"
    async with client_for(Settings(cors_origins=[allowed])) as http:
        too_large = await http.post(
            "/graphql",
            content=b'{"query": "' + b" " * 1_100_000 + b'{ __typename }"}',
            headers={"origin": allowed, "content-type": "application/json"},
        )

    assert too_large.status_code == 413
    assert too_large.headers["access-control-allow-origin"] == allowed
    assert first_error(too_large)["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_cached_settings_are_restored_after_an_override():
    before = get_settings().max_aliases

    with override_settings(max_aliases=1) as settings:
        assert settings.max_aliases == 1

    assert get_settings().max_aliases == before


async def test_a_get_whose_variables_do_not_parse_names_the_parameter(http):
    response = await http.get(
        "/graphql",
        params={
            "query": "query($s: String) { insurancePlans(search: $s) { id } }",
            "variables": "{bad",
        },
    )

    assert response.status_code == 400
    assert "variables parameter" in first_error(response)["message"]
