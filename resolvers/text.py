"""Text people see on other people's screens: names, labels, addresses."""

import re

from schema.errors import BadUserInput

# Control characters (line breaks included) and the bidirectional overrides
# and isolates, which can make "Dr. Smith" display as another name. Joiners
# (U+200C, U+200D) stay: Persian names and emoji need them.
_HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def single_line(field: str, value: str) -> str:
    """value, if it shows as one honest line of text; else BAD_USER_INPUT."""
    if _HIDDEN.search(value):
        raise BadUserInput(
            f"expected {field} without line breaks, control or text-direction "
            "characters"
        )
    return value
