"""Schemathesis hooks: the one check that matters here, and a case count.

Loaded through SCHEMATHESIS_HOOKS by fuzz.py. Schemathesis's own GraphQL check
fails on any entry in `errors`, expected business errors included, so the run
is judged by this check alone: no 5xx, no INTERNAL, every error coded.
"""

import json
import os
import threading

import schemathesis

from schema.errors import API_CODES

_lock = threading.Lock()
_tally = {"cases": 0, "server_errors": 0, "internal": 0, "uncoded": 0}


def _count(key: str) -> None:
    with _lock:
        _tally[key] += 1
        path = os.environ.get("RAPPORT_FUZZ_TALLY")
        if path:
            with open(path, "w") as out:
                json.dump(_tally, out)


@schemathesis.check
def no_server_error_nor_internal(ctx, response, case):
    _count("cases")
    if response.status_code >= 500:
        _count("server_errors")
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = json.loads(response.content)
    except ValueError:
        _count("uncoded")
        raise AssertionError("the response is not JSON") from None
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL":
            _count("internal")
            raise AssertionError(f"INTERNAL: {error.get('message')}")
        if code not in API_CODES:
            _count("uncoded")
            raise AssertionError(f"an error without an API.md code: {error}")
    return None
