"""`Reply` → Bot API calls. Pure functions: no network, so rendering is unit-tested on its own.

The core produces plain text, so the whole text is HTML-escaped and sent with `parse_mode=HTML`: a stray `<` or
`&` in a name or an address can never break a message, and later formatting can be added without changing the
contract. Telegram counts the 4096-character limit after entity parsing, so text is split before escaping.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from aiogram.enums import ParseMode
from aiogram.methods import EditMessageText, SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.core.replies import MAX_PAYLOAD_BYTES, Button, Document, Picture, Reply, Text
from bot.core.text import split_text

MAX_TEXT = 4096
MAX_CAPTION = 1024
EMPTY_STAND_IN = "…"  # Telegram refuses an empty text; the core should never produce one


@dataclass(frozen=True, slots=True)
class Call:
    """One Bot API call of a reply. `sends` counts toward the per-chat pace; `fallback` replaces a failed edit."""

    method: TelegramMethod[Any]
    sends: bool = True
    fallback: SendMessage | None = None
    erase_after: int | None = None  # remove the sent message from the chat this many seconds later


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def inline_keyboard(reply: Text | Picture) -> InlineKeyboardMarkup | None:
    return _inline(reply.buttons)


def _inline(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for row in buttons:
        out: list[InlineKeyboardButton] = []
        for button in row:
            if button.url is not None:
                out.append(InlineKeyboardButton(text=button.label, url=button.url))
            else:
                assert button.payload is not None
                assert len(button.payload.encode()) <= MAX_PAYLOAD_BYTES, "callback_data is limited to 64 bytes"
                out.append(InlineKeyboardButton(text=button.label, callback_data=button.payload))
        rows.append(out)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def share_phone_keyboard(label: str) -> ReplyKeyboardMarkup:
    """The messenger's own share-my-number button: the contact then proves the number (user_id == from.id)."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=label, request_contact=True)]], resize_keyboard=True, one_time_keyboard=True
    )


def render(replies: list[Reply], chat_id: int, *, edit_message_id: int | None = None) -> list[Call]:
    """The calls that show `replies` in `chat_id`.

    When the answer to a button press is one text that fits in one message, the message with the pressed keyboard
    is edited in place (menus then navigate without piling up messages); the send it stands for is its fallback.
    """
    if (
        edit_message_id is not None
        and len(replies) == 1
        and isinstance(replies[0], Text)
        and replies[0].share_phone is None
        and replies[0].erase_after is None
        and len(replies[0].text) <= MAX_TEXT
        and replies[0].text.strip()
    ):
        only = replies[0]
        send = _send(chat_id, only.text, inline_keyboard(only))
        edit = EditMessageText(
            chat_id=chat_id, message_id=edit_message_id, text=escape(only.text), parse_mode=ParseMode.HTML,
            reply_markup=inline_keyboard(only),
        )  # fmt: skip
        return [Call(edit, fallback=send)]
    calls: list[Call] = []
    for reply in replies:
        if isinstance(reply, Document):
            caption = reply.caption[:MAX_CAPTION]
            calls.append(
                Call(
                    SendDocument(
                        chat_id=chat_id,
                        document=BufferedInputFile(reply.content, filename=reply.file_name),
                        caption=escape(caption) if caption else None,
                        parse_mode=ParseMode.HTML if caption else None,
                    )
                )
            )
        elif isinstance(reply, Picture):
            calls.extend(Call(method) for method in _picture(reply, chat_id))
        else:
            calls.extend(Call(method, erase_after=reply.erase_after) for method in _text(reply, chat_id))
    return calls


def _picture(reply: Picture, chat_id: int) -> list[SendPhoto | SendMessage]:
    """A caption over 1024 characters cannot go with the photo: the photo goes alone, the text with the buttons."""
    if len(reply.caption) <= MAX_CAPTION:
        caption = escape(reply.caption) if reply.caption else None
        return [
            SendPhoto(chat_id=chat_id, photo=reply.url, caption=caption, parse_mode=ParseMode.HTML if caption else None,
                      reply_markup=inline_keyboard(reply))
        ]  # fmt: skip
    return [SendPhoto(chat_id=chat_id, photo=reply.url), *_text(Text(reply.caption, reply.buttons), chat_id)]


def _text(reply: Text, chat_id: int) -> list[SendMessage]:
    parts = split_text(reply.text, MAX_TEXT) if reply.text.strip() else [EMPTY_STAND_IN]
    inline = inline_keyboard(reply)
    messages = [_send(chat_id, part, None) for part in parts[:-1]]
    if reply.share_phone is not None and inline is None:
        messages.append(_send(chat_id, parts[-1], share_phone_keyboard(reply.share_phone)))
    else:
        messages.append(_send(chat_id, parts[-1], inline))
        if reply.share_phone is not None:
            # A message has one keyboard: the share-phone button comes with its own short message.
            messages.append(_send(chat_id, "📱 " + reply.share_phone, share_phone_keyboard(reply.share_phone)))
    return messages


def _send(chat_id: int, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None) -> SendMessage:
    return SendMessage(chat_id=chat_id, text=escape(text), parse_mode=ParseMode.HTML, reply_markup=markup)
