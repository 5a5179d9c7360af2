"""Names and labels show as one honest line on other people's screens."""

import pytest

from resolvers.text import single_line
from schema.errors import BadUserInput


@pytest.mark.parametrize(
    "value",
    [
        "Dr. Sam Okafor",
        "Ana María Núñez",
        "Roya Kh\u200canlari",  # a Persian name keeps its zero-width non-joiner
        "Family \U0001f468\u200d\U0001f469\u200d\U0001f467",  # emoji with joiners
    ],
)
def test_ordinary_names_pass(value):
    assert single_line("a name", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "Dr. Smith\u202e htimS .rD",  # right-to-left override
        "Dr. \u2066Smith\u2069",  # directional isolates
        "Dr. Smith\nCall 555-0100",
        "Tab\there",
        "Bell\x07",
        "C1\x85control",
    ],
)
def test_line_breaks_controls_and_direction_overrides_are_refused(value):
    with pytest.raises(BadUserInput, match="without line breaks"):
        single_line("a name", value)
