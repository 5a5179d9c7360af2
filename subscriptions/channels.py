"""Channel names: one helper each, never built inline."""


def thread_channel(thread_id: int) -> str:
    return f"rapport:thread:{thread_id}"


def user_channel(user_id: int) -> str:
    return f"rapport:user:{user_id}"


def provider_availability_channel(provider_id: int) -> str:
    return f"rapport:availability:{provider_id}"


def session_channel(session_id: str) -> str:
    return f"rapport:session:{session_id}"
