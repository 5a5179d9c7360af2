"""People who sign in, and the sessions their tokens stand for."""

import secrets
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    CLIENT = "CLIENT"
    PROVIDER = "PROVIDER"
    STAFF = "STAFF"


def new_calendar_secret() -> str:
    return secrets.token_urlsafe(24)


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16)
    timezone = fields.CharField(max_length=64)
    calendar_secret = fields.CharField(
        max_length=64, unique=True, default=new_calendar_secret
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Session(Model):
    """One signed-in token, which ends at once when its row is revoked."""

    id = fields.CharField(max_length=64, primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="sessions")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sessions"
