"""Global ids: one id per row, and nothing the columns cannot hold."""

import pytest

from schema.errors import NotFound
from schema.ids import parse_int_id, require_int_id, to_global_id


def raw(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_an_id_round_trips():
    assert parse_int_id(to_global_id("Provider", 2147483647), "Provider") == 2147483647


@pytest.mark.parametrize(
    "key",
    [
        "²",  # a digit to str.isdigit(), not to int()
        "１",  # fullwidth one: int() reads it as 1
        "0001",  # a second spelling of row 1
        "0",
        "-1",
        "2147483648",  # past PostgreSQL's integer column
        "999999999999999999",
        "1 ",
    ],
)
def test_a_key_that_no_row_can_have_is_no_id(key):
    assert parse_int_id(raw(f"Provider:{key}"), "Provider") is None


def test_mutations_get_not_found_for_such_keys():
    with pytest.raises(NotFound):
        require_int_id(raw("Appointment:²"), "Appointment")
    with pytest.raises(NotFound):
        require_int_id(raw("Appointment:2147483648"), "Appointment")
