"""Run the server with the configured host and port (`make run`)."""

import logging
import resource

import uvicorn

from settings import get_settings

logger = logging.getLogger("serve")


def raise_open_file_limit() -> None:
    # Every websocket is a file descriptor; past the soft limit new
    # connections are reset without a word, so take the hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            logger.warning("Could not raise the open-file limit soft=%s", soft)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        logger.warning("Open-file limit is %s: at most that many websockets", soft)


def main() -> None:
    settings = get_settings()
    raise_open_file_limit()
    uvicorn.run(
        "app:app",
        host=settings.host,
        port=settings.port,
        # X-Forwarded-For is read by our throttles, from TRUSTED_PROXIES only.
        proxy_headers=False,
        # A websocket frame is bounded like an HTTP body.
        ws_max_size=settings.max_body_bytes,
        ws_per_message_deflate=settings.ws_compression,
        access_log=settings.uvicorn_access_log,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
