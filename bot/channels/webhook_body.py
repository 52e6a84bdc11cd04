"""Reading a platform's webhook body: whole, bounded, and parsed without letting hostile JSON raise.

`request.content.read(n)` returns what has arrived so far, so an update split over two TCP segments was read in
part and refused; aiohttp's `read()` waits for the whole body and stops at the application's `client_max_size`
(also for a chunked body, which has no Content-Length to check first). JSON nested deeper than Python's recursion
limit raises `RecursionError` rather than `ValueError`, and a `\\ud800` escape decodes to a lone surrogate that
no encoder accepts later (the session could not be saved and its lock was left held): both are dealt with here,
once for every channel.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_BODY = 1024 * 1024  # an update or callback is a few KiB; anything near this is not from the platform
MAX_DEPTH = 64  # far deeper than any platform's payload, far shallower than the recursion limit


async def read_body(request: web.Request) -> bytes | None:
    """The whole body, or None when it is larger than the application allows (answer 413)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None
    return body if len(body) <= MAX_BODY else None


def parse_json(body: bytes) -> Any | None:
    """The decoded JSON, or None when it is not JSON or nested deeper than `MAX_DEPTH` (answer 400)."""
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _too_deep(body):  # counting is fast, the walk is not
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return scrub_surrogates(data) if b"\\u" in body or b"\\U" in body else data


def _too_deep(body: bytes) -> bool:
    """Brackets counted outside strings: a cheap linear pass that refuses before the parser recurses."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def scrub_surrogates(value: Any) -> Any:
    """Every string with a lone surrogate gets U+FFFD in its place, in dicts and lists at any depth."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a pair was joined by the decoder: what is left is alone
            return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
        return value
    if isinstance(value, list):
        return [scrub_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {scrub_surrogates(key): scrub_surrogates(item) for key, item in value.items()}
    return value
