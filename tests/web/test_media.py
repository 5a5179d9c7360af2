"""Which JSON media type a client gets, from its Accept header."""

import pytest

from web.media import GRAPHQL_RESPONSE, JSON, failed_before_execution, negotiate


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        # what Apollo Client sends
        (f"{GRAPHQL_RESPONSE},application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", JSON),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, application/json", JSON),
        (f"{GRAPHQL_RESPONSE};q=nonsense", JSON),
        (f"text/html, {GRAPHQL_RESPONSE.upper()}; q=0.8", GRAPHQL_RESPONSE),
    ],
)
def test_the_client_gets_the_type_it_ranks_highest(accept, expected):
    assert negotiate(accept) == expected


def coded(code: str, **more) -> dict:
    return {"message": "x", "extensions": {"code": code}, **more}


def test_parse_validation_and_coercion_failures_refuse_the_request():
    assert failed_before_execution([coded("GRAPHQL_PARSE_FAILED")])
    assert failed_before_execution(
        [coded("GRAPHQL_VALIDATION_FAILED"), coded("BAD_USER_INPUT")]
    )


def test_errors_of_fields_or_of_the_viewer_do_not():
    assert not failed_before_execution([])
    assert not failed_before_execution([coded("UNAUTHENTICATED")])
    assert not failed_before_execution([coded("BAD_USER_INPUT", path=["provider"])])
    assert not failed_before_execution([{"message": "no extensions"}])
