"""Tortoise tables, re-exported so code says `models.Appointment`."""

from models.appointments import (
    Appointment,
    AppointmentFormat,
    AppointmentKind,
    AppointmentStatus,
)
from models.messaging import Message, MessageThread, MessageTopic
from models.providers import (
    AvailabilityWindow,
    FirstAppointment,
    InsurancePlan,
    Office,
    Provider,
    ProviderTag,
    TagKind,
    TimeOff,
)
from models.users import Role, Session, User

__models__ = [
    User,
    Session,
    InsurancePlan,
    Provider,
    ProviderTag,
    Office,
    AvailabilityWindow,
    TimeOff,
    Appointment,
    MessageThread,
    Message,
]

__all__ = [
    "Appointment",
    "AppointmentFormat",
    "AppointmentKind",
    "AppointmentStatus",
    "AvailabilityWindow",
    "FirstAppointment",
    "InsurancePlan",
    "Message",
    "MessageThread",
    "MessageTopic",
    "Office",
    "Provider",
    "ProviderTag",
    "Role",
    "Session",
    "TagKind",
    "TimeOff",
    "User",
]
