"""Sign-up, log-in, log-out and the viewer."""

import pytest

import models
from tests.conftest import PASSWORD, make_user

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token user { id name email role timezone } }
}
"""
LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { token user { name } }
}
"""
VIEWER = "{ viewer { user { name email } provider { name acceptingNewClients } } }"


def sign_up_input(**overrides):
    values = {
        "email": "New.Person@Example.test",
        "password": "a long passphrase",
        "name": "New Person",
        "role": "CLIENT",
        "timezone": "America/Chicago",
    }
    values.update(overrides)
    return {"input": values}


async def test_sign_up_returns_a_token_and_stores_a_hashed_password(execute):
    result = await execute(SIGN_UP, sign_up_input())

    assert result.errors == []
    payload = result.data["signUp"]
    assert payload["token"]
    assert payload["user"]["email"] == "new.person@example.test"
    stored = await models.User.get(email="new.person@example.test")
    assert stored.password_hash.startswith("$argon2")
    assert "a long passphrase" not in stored.password_hash


async def test_provider_sign_up_creates_a_profile_with_the_contract_defaults(execute):
    result = await execute(SIGN_UP, sign_up_input(role="PROVIDER"))

    assert result.errors == []
    provider = await models.Provider.get(user__email="new.person@example.test")
    assert (provider.name, provider.timezone) == ("New Person", "America/Chicago")
    assert provider.first_appointment == "INTRO_CALL"
    assert (provider.intro_call_minutes, provider.session_minutes) == (15, 50)
    assert provider.formats == ["VIDEO"]
    assert provider.accepting_new_clients is False
    assert await models.AvailabilityWindow.filter(provider=provider).count() == 0


async def test_staff_cannot_sign_up(execute):
    result = await execute(SIGN_UP, sign_up_input(role="STAFF"))

    assert result.code == "FORBIDDEN"
    assert await models.User.all().count() == 0


async def test_duplicate_email_is_a_conflict_in_any_letter_case(execute):
    await execute(SIGN_UP, sign_up_input())

    result = await execute(SIGN_UP, sign_up_input(email="NEW.PERSON@example.test"))

    assert result.code == "CONFLICT"
    assert await models.User.all().count() == 1


# Folders and files of the zone database that are not places, besides names
# that are simply wrong.
@pytest.mark.parametrize(
    "zone",
    ["EST5", "America", "localtime", "posixrules", "posix/America/New_York", ""],
)
async def test_unknown_time_zone_is_bad_user_input(execute, zone):
    result = await execute(SIGN_UP, sign_up_input(timezone=zone))

    assert result.code == "BAD_USER_INPUT"
    assert f"got {zone!r}" in result.errors[0]["message"]
    assert await models.User.all().count() == 0


async def test_log_in_with_the_right_password_gives_a_working_token(execute):
    user = await make_user(email="jo@example.test")

    result = await execute(LOG_IN, {"email": "JO@example.test", "password": PASSWORD})

    assert result.data["logIn"]["user"]["name"] == user.name
    assert await models.Session.filter(user=user).count() == 2


async def test_wrong_password_and_unknown_email_look_the_same(execute):
    await make_user(email="jo@example.test")

    wrong = await execute(LOG_IN, {"email": "jo@example.test", "password": "nope"})
    unknown = await execute(LOG_IN, {"email": "who@example.test", "password": "nope"})

    assert wrong.code == unknown.code == "UNAUTHENTICATED"
    assert wrong.errors[0]["message"] == unknown.errors[0]["message"]


async def test_viewer_is_null_without_a_token(execute):
    result = await execute(VIEWER)

    assert result.data == {"viewer": None}


async def test_viewer_shows_the_provider_profile_to_a_provider(execute):
    await execute(SIGN_UP, sign_up_input(role="PROVIDER"))
    user = await models.User.get(email="new.person@example.test")

    result = await execute(VIEWER, as_user=user)

    assert result.data["viewer"]["user"]["email"] == "new.person@example.test"
    assert result.data["viewer"]["provider"]["acceptingNewClients"] is False


async def test_a_huge_password_is_refused_before_hashing(execute):
    result = await execute(SIGN_UP, sign_up_input(password="p" * 5000))

    assert result.code == "BAD_USER_INPUT"
    assert await models.User.all().count() == 0


async def test_text_with_a_nul_character_is_bad_user_input_on_every_backend(execute):
    result = await execute(SIGN_UP, sign_up_input(name="Nul\x00Person"))
    inline = await execute(
        'mutation { logIn(email: "a\\u0000b@example.test", password: "x") { token } }'
    )

    assert result.code == inline.code == "BAD_USER_INPUT"
    assert await models.User.all().count() == 0


async def test_a_long_bad_email_is_not_echoed_whole(execute):
    result = await execute(SIGN_UP, sign_up_input(email="x" * 3000))

    assert result.code == "BAD_USER_INPUT"
    assert len(result.errors[0]["message"]) < 200


async def test_a_name_that_would_display_as_another_is_refused(execute):
    result = await execute(SIGN_UP, sign_up_input(name="Dr. Smith\u202e htimS"))

    assert result.code == "BAD_USER_INPUT"
    assert await models.User.all().count() == 0
