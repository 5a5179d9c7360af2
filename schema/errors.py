"""One error class per API.md code; the schema turns them into GraphQL errors."""

from datetime import datetime
from typing import Any


# Every extensions.code a client may see (API.md).
API_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "SLOT_UNAVAILABLE",
        "CONFLICT",
        "RATE_LIMITED",
        "INTERNAL",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
    }
)


class RapportError(Exception):
    """An expected failure: a stable code and a message a person can act on."""

    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(RapportError):
    code = "UNAUTHENTICATED"


class Forbidden(RapportError):
    code = "FORBIDDEN"


class NotFound(RapportError):
    code = "NOT_FOUND"


class BadUserInput(RapportError):
    code = "BAD_USER_INPUT"


class SlotUnavailable(RapportError):
    code = "SLOT_UNAVAILABLE"


class Conflict(RapportError):
    code = "CONFLICT"

    def __init__(
        self, message: str, *, conflicts: list[datetime] | None = None
    ) -> None:
        extensions: dict[str, Any] = {}
        if conflicts is not None:
            extensions["conflicts"] = [format_instant(at) for at in conflicts]
        super().__init__(message, **extensions)


class RateLimited(RapportError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message, retryAfterSeconds=retry_after_seconds)


def format_instant(value: datetime) -> str:
    """UTC with a Z, to the second, as every DateTime leaves the API."""
    from datetime import UTC

    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
