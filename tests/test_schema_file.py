"""schema.graphql at the root is what the code serves."""

from manage import SCHEMA_FILE, schema_sdl


def test_schema_file_matches_the_code():
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `make schema` and commit it"
    )
