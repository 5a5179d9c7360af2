"""Sign-up, log-in, tokens and who the viewer is."""

import asyncio
import functools
import logging
import secrets
import zoneinfo
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

import clock
import models
from resolvers.text import single_line
from schema.errors import BadUserInput, Conflict, Forbidden, Unauthenticated
from schema.pagination import shorten
from settings import get_settings

logger = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verifying against this keeps unknown emails as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("rapport-timing-equaliser")
TOKEN_ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 8
# Hashing is deliberately slow, so a password is also bounded above.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def verify_password(password_hash: str, password: str) -> bool:
    # argon2 is deliberately slow: keep it off the event loop.
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


# In the zone database's files but not places: the host's own zone, tzdata's
# placeholder, and the alternative trees.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


def check_timezone(name: str) -> str:
    # Looked up in the list, not opened: "America" is a folder of the
    # database (IsADirectoryError), and "localtime" a file but no place.
    if name not in _iana_zones():
        raise BadUserInput(
            f"expected an IANA time zone like America/New_York, got {name!r}"
        )
    return name


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254:
        raise BadUserInput(f"expected an email address, got {shorten(email)}")
    return email


async def issue_token(user: models.User) -> str:
    settings = get_settings()
    issued = clock.now()
    expires = issued + timedelta(hours=settings.token_ttl_hours)
    session = await models.Session.create(
        id=secrets.token_urlsafe(16), user=user, created_at=issued, expires_at=expires
    )
    claims = {"sub": str(user.id), "sid": session.id, "iat": issued, "exp": expires}
    return jwt.encode(claims, settings.secret_key, algorithm=TOKEN_ALGORITHM)


async def authenticate(token: str) -> tuple[models.User, str]:
    """The user and session id behind a bearer token, or Unauthenticated."""
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["sub", "sid", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Your session has expired: log in again.") from None
    except jwt.PyJWTError:
        raise Unauthenticated("That token is not valid: log in again.") from None

    session = (
        await models.Session.filter(id=str(claims["sid"]))
        .select_related("user")
        .first()
    )
    if session is None or session.revoked_at is not None:
        raise Unauthenticated("That session has ended: log in again.")
    if session.expires_at <= clock.now():
        raise Unauthenticated("Your session has expired: log in again.")
    return session.user, session.id


async def session_is_live(session_id: str) -> bool:
    session = await models.Session.filter(id=session_id).first()
    return (
        session is not None
        and session.revoked_at is None
        and session.expires_at > clock.now()
    )


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` value; None when absent."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("expected 'Authorization: Bearer <token>'")
    return token.strip()


def check_new_account(
    email: str, password: str, name: str, timezone: str
) -> tuple[str, str]:
    """The email and name a new account is stored with, every field checked.

    The same rules for every role: sign-up's, and the command line's staff.
    """
    email = normalise_email(email)
    name = single_line("a name", name.strip())
    if not name or len(name) > 200:
        raise BadUserInput("expected a name of 1 to 200 characters")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadUserInput(
            f"expected a password of {MIN_PASSWORD_LENGTH} to "
            f"{MAX_PASSWORD_LENGTH} characters"
        )
    check_timezone(timezone)
    return email, name


async def sign_up(
    email: str, password: str, name: str, role: models.Role, timezone: str
) -> tuple[models.User, str]:
    if role == models.Role.STAFF:
        raise Forbidden("Staff accounts are created by an administrator.")
    email, name = check_new_account(email, password, name, timezone)
    password_hash = await asyncio.to_thread(hash_password, password)

    try:
        async with in_transaction():
            user = await models.User.create(
                email=email,
                password_hash=password_hash,
                name=name,
                role=role,
                timezone=timezone,
            )
            if role == models.Role.PROVIDER:
                # Imported here: resolvers.providers imports this module.
                from resolvers.providers import sync_tags

                provider = await models.Provider.create(
                    user=user,
                    name=name,
                    timezone=timezone,
                    formats=[models.AppointmentFormat.VIDEO.value],
                )
                await sync_tags(provider)
    except IntegrityError:
        raise Conflict("An account with that email already exists.") from None

    logger.info("Signed up user_id=%s role=%s", user.id, role)
    return user, await issue_token(user)


async def log_in(email: str, password: str) -> tuple[models.User, str]:
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise Unauthenticated("That email and password do not match an account.")
    email = email.strip().lower()
    user = await models.User.filter(email=email).first()
    stored_hash = user.password_hash if user else _DUMMY_HASH
    if not await verify_password(stored_hash, password) or user is None:
        raise Unauthenticated("That email and password do not match an account.")
    return user, await issue_token(user)


async def log_out(session_id: str) -> None:
    await models.Session.filter(id=session_id, revoked_at=None).update(
        revoked_at=clock.now()
    )
