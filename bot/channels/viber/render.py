"""The core's replies as Viber `send_message` bodies: text split at Viber's limits, buttons as a Viber keyboard.

Viber shows the most recent keyboard in place of the phone's keyboard, and a message without one takes it away,
so a turn's keyboard goes on the turn's last message. It is built from the last reply that has buttons — the same
buttons the engine remembers for choices typed by number. Viber has no message editing: every reply is a new message.

Reply buttons come back as an ordinary text message whose text is the button's `ActionBody`. To keep a typed text
from ever being taken for a button press, the `ActionBody` is the core's payload behind `ACTION_PREFIX`: "mila"
between two U+2063 INVISIBLE SEPARATOR characters, which no phone keyboard types. A user who pastes the prefix can
forge a press, as on any messenger; the engine re-validates every payload. The buttons are `Silent`, so the
invisible body is not echoed into the chat as if the user had written it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from viberbot.api.messages import FileMessage, PictureMessage, TextMessage

from bot.core.replies import Button, Picture, Text
from bot.core.text import split_text

ACTION_PREFIX = "\u2063mila\u2063"
SHARE_PHONE_BODY = "share-phone"

MAX_TEXT = 7000  # characters of one text message
MAX_PICTURE_TEXT = 768  # characters of a picture's description
MAX_LABEL = 250  # characters of a button's Text
MAX_REQUEST_BYTES = 30_000  # a send_message request, as sent (30 KB, counted conservatively)
MAX_TRACKING_DATA = 4000
TEXT_BUDGET_BYTES = 24_000  # what a message's text may take, leaving room for the keyboard and the envelope
SHARE_PHONE_API_VERSION = 3  # share-phone buttons need Viber clients of API level 3 (Viber 7.6 and later)
MAX_BUTTONS_PER_ROW = 3  # narrower than 2 columns, a label cannot be read on a phone
_CALL_LINK = re.compile(r"tel:\+?[0-9]{2,20}")
_PARTIAL_ENTITY = re.compile(r"&[a-z#0-9]*$")


def action_body(payload: str) -> str:
    return ACTION_PREFIX + payload


def payload_from_text(text: str) -> str | None:
    """The payload of a pressed reply button, or None for text the user typed."""
    if text.startswith(ACTION_PREFIX) and len(text) > len(ACTION_PREFIX):
        return text[len(ACTION_PREFIX) :]
    return None


def is_call_link(text: str) -> bool:
    """A `tel:` link as the bot's call buttons carry it. Viber sends the body of a pressed open-url button back to
    the bot as a text message; a number to dial is never something the user said."""
    return _CALL_LINK.fullmatch(text.strip()) is not None


def encoded_size(message: dict[str, Any]) -> int:
    """Bytes of the request body exactly as the client sends it."""
    return len(dumps(message))


def dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _label(text: str) -> str:
    """Viber renders a little markup in button texts, so labels are escaped; cut to fit 250 characters escaped."""
    escaped = html.escape(text, quote=False)
    if len(escaped) <= MAX_LABEL:
        return escaped
    cut = text[: MAX_LABEL - 1]
    while len(html.escape(cut, quote=False)) > MAX_LABEL - 1:
        cut = cut[:-1]
    return html.escape(cut, quote=False) + "…"


def _button(button: Button, columns: int) -> dict[str, Any]:
    if button.url is not None:
        body = {"Columns": columns, "Rows": 1, "ActionType": "open-url", "ActionBody": button.url,
                "Text": _label(button.label)}  # fmt: skip
        if is_call_link(button.url):  # the dialler, not Viber's browser; the echo of the press stays out of the chat
            body |= {"OpenURLType": "external", "Silent": True}
        return body
    assert button.payload is not None
    return {"Columns": columns, "Rows": 1, "ActionType": "reply", "ActionBody": action_body(button.payload),
            "Text": _label(button.label), "Silent": True}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Keyboard:
    """A Viber keyboard and the client API level it needs."""

    body: dict[str, Any]
    min_api_version: int | None


def keyboard(reply: Text) -> Keyboard | None:
    """Rows of the core become rows of the 6-column grid: one button takes 6 columns, two take 3 each, three 2."""
    buttons: list[dict[str, Any]] = []
    min_api: int | None = None
    if reply.share_phone:
        buttons.append({"Columns": 6, "Rows": 1, "ActionType": "share-phone", "ActionBody": SHARE_PHONE_BODY,
                        "Text": _label(reply.share_phone)})  # fmt: skip
        min_api = SHARE_PHONE_API_VERSION
    for row in reply.buttons:
        for start in range(0, len(row), MAX_BUTTONS_PER_ROW):
            chunk = row[start : start + MAX_BUTTONS_PER_ROW]
            buttons.extend(_button(button, 6 // len(chunk)) for button in chunk)
    if not buttons:
        return None
    return Keyboard({"Type": "keyboard", "DefaultHeight": False, "Buttons": buttons}, min_api)


def split_for_viber(text: str) -> list[str]:
    """At most 7000 characters per message, and few enough bytes that the request stays under 30 KB."""
    parts: list[str] = []
    for part in split_text(text, MAX_TEXT):
        size = _text_bytes(part)
        if size <= TEXT_BUDGET_BYTES:
            parts.append(part)
            continue
        smaller = max(200, len(part) * TEXT_BUDGET_BYTES // size - 1)
        parts.extend(split_for_viber_with(part, smaller))
    return parts


def _text_bytes(text: str) -> int:
    """What a text takes in the request: UTF-8, with JSON's escapes (a control character takes six bytes)."""
    return len(json.dumps(text, ensure_ascii=False).encode())


def split_for_viber_with(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    for part in split_text(text, limit):
        if _text_bytes(part) <= TEXT_BUDGET_BYTES or limit <= 200:
            parts.append(part)
        else:
            parts.extend(split_for_viber_with(part, limit // 2))
    return parts


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file Viber fetches from a URL (Viber cannot receive file bytes in send_message)."""

    url: str
    file_name: str
    size: int


Part = Text | FilePart | Picture


@dataclass(frozen=True, slots=True)
class Sender:
    name: str  # ≤ 28 characters (checked by the settings)
    avatar: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name[:28], **({"avatar": self.avatar} if self.avatar else {})}


def _as_text(part: Text | Picture) -> Text:
    return part if isinstance(part, Text) else Text(part.caption, part.buttons)


def tracking_data(*, ref: str | None) -> str:
    """What Viber echoes back with the user's next message: the message token of the callback that produced it (to
    follow a conversation in logs without personal data). The client sends it back, so it is never proof of
    anything."""
    data: dict[str, Any] = {"v": 1}
    if ref:
        data["ref"] = ref[:64]
    return json.dumps(data, separators=(",", ":"))[:MAX_TRACKING_DATA]


MAX_TRACKING_DATA = 4096
SENSITIVE = "_sensitive"  # marks a body made from a secret: never sent with the mark, never stored


def read_tracking_data(raw: str | None) -> dict[str, Any]:
    """Our own tracking data, or {} for anything else (older messages, other senders, anything longer than what
    Viber lets a bot send, which cannot be ours)."""
    if not raw or len(raw) > MAX_TRACKING_DATA:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("v") == 1 else {}


def render_turn(
    parts: list[Part], *, sender: Sender, receiver: str | None, ref: str | None = None
) -> list[dict[str, Any]]:
    """One turn's replies → the send_message bodies, in order; `receiver=None` gives the welcome-message form."""
    texts = [_as_text(p) for p in parts if isinstance(p, Text | Picture)]
    keyboard_source = next((t for t in reversed(texts) if t.buttons or t.share_phone), None)
    board = keyboard(keyboard_source) if keyboard_source is not None else None

    bodies: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, FilePart):
            bodies.append(FileMessage(media=part.url, size=part.size, file_name=part.file_name).to_dict())
            continue
        if isinstance(part, Picture):
            fits = len(part.caption) <= MAX_PICTURE_TEXT
            bodies.append(PictureMessage(media=part.url, text=part.caption if fits else "").to_dict())
            if not fits:
                bodies.extend(TextMessage(text=chunk).to_dict() for chunk in split_for_viber(part.caption))
            continue
        for chunk in split_for_viber(part.text):
            body = TextMessage(text=chunk).to_dict()
            if isinstance(part, Text) and part.sensitive:
                body[SENSITIVE] = part.again or ""  # taken off before it is sent or stored (the channel's `_deliver`)
            bodies.append(body)
    if not bodies and board is not None:
        bodies.append(TextMessage(text="…").to_dict())

    envelope: dict[str, Any] = {"sender": sender.as_dict()}
    if receiver is not None:
        envelope["receiver"] = receiver
    messages = [{**envelope, **body} for body in bodies]
    if messages:
        last = messages[-1]
        last["tracking_data"] = tracking_data(ref=ref)
        if board is not None:
            last["keyboard"] = board.body
            if board.min_api_version:
                last["min_api_version"] = board.min_api_version
        messages[-1] = fit(last)
    return messages


def fit(message: dict[str, Any]) -> dict[str, Any]:
    """Keep a request under 30 KB by shortening labels, then dropping buttons from the end, never by failing."""
    if encoded_size(message) <= MAX_REQUEST_BYTES or "keyboard" not in message:
        return message
    board = message["keyboard"]
    buttons = [dict(b, Text=_PARTIAL_ENTITY.sub("", b["Text"][:40])) for b in board["Buttons"]]
    message = {**message, "keyboard": {**board, "Buttons": buttons}}
    while buttons and encoded_size(message) > MAX_REQUEST_BYTES:
        buttons.pop()
        message["keyboard"] = {**board, "Buttons": buttons}
    if not buttons:
        message.pop("keyboard")
        message.pop("min_api_version", None)
    return message
