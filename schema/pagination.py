"""Relay connections: edges, page info, opaque cursors and page sizes."""

import base64
import binascii
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from schema.errors import BadUserInput
from settings import get_settings

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


# Cursor integers are ids and sequence numbers: bounded like the columns.
MAX_INT_KEY = 2**31 - 1


def decode_cursor(cursor: str, *shape: type) -> list[Any]:
    """The values of one of our cursors, checked against the expected types."""
    refusal = BadUserInput(f"expected a cursor from this API, got {shorten(cursor)}")
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise refusal from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise refusal
    for value, expected in zip(values, shape, strict=True):
        # bool is an int to Python, never to us.
        if type(value) is not expected:
            raise refusal
        if expected is int and not 0 <= value <= MAX_INT_KEY:
            raise refusal
        # PostgreSQL text cannot hold NUL (schema.RejectNulCharacters).
        if expected is str and (len(value) > 500 or "\x00" in value):
            raise refusal
    return values


def time_cursor(at: datetime, key: int) -> str:
    """A cursor for lists ordered by an instant, then id."""
    return encode_cursor(at.isoformat(), key)


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    at, key = decode_cursor(cursor, str, int)
    try:
        return datetime.fromisoformat(at), key
    except ValueError:
        raise BadUserInput(
            f"expected a cursor from this API, got {shorten(cursor)}"
        ) from None


def shorten(value: str, limit: int = 60) -> str:
    """A value quoted for an error message, cut so messages stay short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "…'"


def page_size(requested: int | None, name: str = "first") -> int:
    """Default 20; capped at the configured maximum; negative is refused."""
    if requested is None:
        return DEFAULT_PAGE_SIZE
    if requested < 0:
        raise BadUserInput(f"expected {name} to be 0 or more, got {requested}")
    return min(requested, get_settings().max_page_size)


def connection(
    nodes: list[Any],
    cursors: list[str],
    *,
    has_next: bool,
    has_previous: bool,
) -> Connection[Any]:
    edges = [Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )
