"""The shape of a Viber callback, checked before the SDK or our code reads it.

A callback is signed with the bot's token, so it is Viber's — or someone's who has the token, or a Viber change
we have not seen. Either way a field of an unexpected type must be refused with 400 (Viber does not retry a 4xx)
and not reach `int()`, the SDK's parser or a Redis script, where it raised and was answered 500, which Viber
retries for an hour.
"""

from __future__ import annotations

from typing import Any

MAX_INT = 2**63 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


_STRINGS = {
    "sender": ("id", "name", "language", "country", "avatar"),
    "user": ("id", "name", "language", "country", "avatar"),
    "message": ("type", "text", "media", "file_name", "tracking_data", "thumbnail"),
}


def malformed(data: dict[str, Any]) -> str | None:
    """The name of the first field of a type no Viber callback has, or None when the shape is sound."""
    for name in ("timestamp", "message_token"):
        if name in data and not _is_int(data[name]):
            return name
    for name in ("event", "user_id", "desc", "type"):
        if name in data and not isinstance(data[name], str):
            return name
    for part, fields in _STRINGS.items():
        if part not in data:
            continue
        value = data[part]
        if not isinstance(value, dict):
            return part
        for field in fields:
            if field in value and value[field] is not None and not isinstance(value[field], str):
                return f"{part}.{field}"
    message = data.get("message")
    if isinstance(message, dict):
        for field in ("size", "duration", "sticker_id"):
            if field in message and message[field] is not None and not _is_int(message[field]):
                return f"message.{field}"
        if "contact" in message and not isinstance(message["contact"], dict):
            return "message.contact"
        if "location" in message and not isinstance(message["location"], dict):
            return "message.location"
    return None
