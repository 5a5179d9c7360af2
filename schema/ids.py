"""Opaque global ids (Relay): base64 of "Type:key"."""

import base64
import binascii
import re

from schema.errors import BadUserInput, NotFound
from schema.pagination import MAX_INT_KEY, shorten

# ASCII digits, no leading zero: "²" and "１" are digits to str.isdigit(),
# and "0001" would be a second id for row 1.
_KEY = re.compile(r"[1-9][0-9]{0,9}")


def to_global_id(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def from_global_id(global_id: str) -> tuple[str, str]:
    """(type name, key); raises ValueError for anything that is not ours."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError(f"not a Rapport id: {global_id!r}") from None
    type_name, sep, key = decoded.partition(":")
    if not sep or not type_name or not key:
        raise ValueError(f"not a Rapport id: {global_id!r}")
    return type_name, key


def parse_int_id(global_id: str, expected: str) -> int | None:
    """The integer key of an id of the expected type, or None if it is not one."""
    try:
        type_name, key = from_global_id(global_id)
    except ValueError:
        return None
    if type_name != expected or not _KEY.fullmatch(key):
        return None
    number = int(key)
    # Past the integer columns' range no row can have it (and PostgreSQL
    # would refuse the comparison).
    return number if number <= MAX_INT_KEY else None


def require_int_id(global_id: str, expected: str) -> int:
    """For mutations: a malformed id is BAD_USER_INPUT, a wrong type NOT_FOUND."""
    try:
        from_global_id(global_id)
    except ValueError:
        raise BadUserInput(
            f"expected {_article(expected)} {expected} id, got {shorten(global_id)}"
        ) from None
    key = parse_int_id(global_id, expected)
    if key is None:
        raise NotFound(f"No {_words(expected)} has the id {shorten(global_id)}.")
    return key


def _words(type_name: str) -> str:
    """InsurancePlan -> insurance plan, for messages people read."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower()


def _article(type_name: str) -> str:
    return "an" if type_name[:1] in "AEIOU" else "a"
