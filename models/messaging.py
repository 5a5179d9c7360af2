"""Private threads between one client and one provider."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MessageTopic(StrEnum):
    APPOINTMENT_CHANGE = "APPOINTMENT_CHANGE"
    FOLLOW_UP = "FOLLOW_UP"
    CLINICAL = "CLINICAL"
    BILLING_CODING = "BILLING_CODING"
    SERVICES = "SERVICES"
    OTHER = "OTHER"


class MessageThread(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("models.User", related_name="client_threads")
    provider = fields.ForeignKeyField("models.Provider", related_name="threads")
    # Messages are numbered per thread; readers remember the last number seen.
    last_seq = fields.IntField(default=0)
    client_read_seq = fields.IntField(default=0)
    provider_read_seq = fields.IntField(default=0)
    last_activity_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "message_threads"
        unique_together = (("client", "provider"),)


class Message(Model):
    id = fields.IntField(primary_key=True)
    thread = fields.ForeignKeyField("models.MessageThread", related_name="messages")
    seq = fields.IntField()
    sender = fields.ForeignKeyField("models.User", related_name="messages_sent")
    body = fields.TextField()
    topic = fields.CharEnumField(MessageTopic, max_length=32, null=True)
    client_message_id = fields.CharField(max_length=200, null=True)
    sent_at = fields.DatetimeField()

    class Meta:
        table = "messages"
        unique_together = (("thread", "seq"), ("sender", "client_message_id"))
