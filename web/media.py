"""GraphQL over HTTP's two JSON media types, and which one a client gets.

`application/graphql-response+json` lets status codes speak: a document that
does not parse or validate, or variables that cannot be coerced, get 400 and
no `data` entry. Plain `application/json` stays the default, always 200, for
clients that do not ask (GraphQL over HTTP keeps it during its transition).
"""

from collections.abc import Iterable

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

# Codes of errors raised before execution: the request, not a field, failed.
_REQUEST_ERROR_CODES = frozenset(
    {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}
)


def negotiate(accept: str | None) -> str:
    """The media type the client ranks highest; JSON unless it names ours.

    Wildcards (`*/*`, `application/*`) mean JSON: a client that wants the
    newer type names it, as Apollo Client and graphql-http do.
    """
    ranked: dict[str, tuple[float, int]] = {}
    for position, part in enumerate((accept or "").split(",")):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        if media in (GRAPHQL_RESPONSE, JSON) and media not in ranked:
            ranked[media] = (_quality(params), -position)
    ours = ranked.get(GRAPHQL_RESPONSE)
    if ours is None or ours[0] <= 0:
        return JSON
    return GRAPHQL_RESPONSE if ours >= ranked.get(JSON, (0.0, 0)) else JSON


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def failed_before_execution(errors: Iterable[dict[str, object]]) -> bool:
    """Whether formatted errors say the request itself was refused."""
    errors = list(errors)
    return bool(errors) and all(
        "path" not in error
        and isinstance(error.get("extensions"), dict)
        and error["extensions"].get("code") in _REQUEST_ERROR_CODES
        for error in errors
    )
