"""Telegram update → `Incoming`: the only place that reads aiogram's update types.

What the bot takes: private-chat messages, button presses, and the bot's own membership in a private chat (blocked
or unblocked). Everything else (edited messages, channel posts, group chats, service messages) is ignored without an
answer: answering an edit or a group would be wrong. The operators' support group goes to the desk (`desk.py`)
before it gets here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram.enums import ChatMemberStatus, ChatType, ContentType
from aiogram.types import Message, Update

from bot.core.incoming import Attachment, Incoming, Kind, UserRef

CHANNEL = "telegram"

# Update types requested from Telegram (setWebhook / getUpdates); anything else never reaches us.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

# Content a person sends that the bot does not read: it gets a short localized answer.
_UNSUPPORTED = {
    ContentType.STICKER, ContentType.VOICE, ContentType.VIDEO, ContentType.VIDEO_NOTE, ContentType.ANIMATION,
    ContentType.AUDIO, ContentType.LOCATION, ContentType.VENUE, ContentType.POLL, ContentType.DICE,
    ContentType.GAME, ContentType.STORY, ContentType.PAID_MEDIA, ContentType.CHECKLIST,
}  # fmt: skip

_START = re.compile(r"^/start(?:@\w+)?(?:\s|$)", re.IGNORECASE)
_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class Parsed:
    """An update the bot acts on: the event, where to answer, and what to acknowledge."""

    incoming: Incoming
    chat_id: int
    callback_id: str | None = None  # a pressed button's query, always answered
    keyboard_message_id: int | None = None  # the message that carried the pressed keyboard (to edit it)


def normalize_phone(raw: str) -> str:
    """Telegram sends numbers with or without '+' and sometimes with spaces: E.164-like '+<digits>'."""
    return "+" + _NOT_DIGITS.sub("", raw)


def parse(update: Update) -> Parsed | None:
    """The event in this update, or None when the bot must not answer it."""
    if update.message is not None:
        return _message(update.message)
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE or query.from_user.is_bot:
            return None
        user = UserRef(CHANNEL, str(query.from_user.id))
        incoming = Incoming(user, Kind.BUTTON, payload=query.data or "", language_hint=query.from_user.language_code)
        # An inaccessible (very old) message has date 0 and cannot be edited.
        editable = message.message_id if isinstance(message, Message) else None
        return Parsed(incoming, message.chat.id, callback_id=query.id, keyboard_message_id=editable)
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.chat.type != ChatType.PRIVATE:
            return None
        status = member.new_chat_member.status
        if status == ChatMemberStatus.KICKED:
            kind = Kind.UNSUBSCRIBED
        elif status == ChatMemberStatus.MEMBER:
            kind = Kind.SUBSCRIBED
        else:
            return None
        user = UserRef(CHANNEL, str(member.from_user.id))
        return Parsed(Incoming(user, kind, language_hint=member.from_user.language_code), member.chat.id)
    return None  # edited messages, channel posts, inline queries…: not for this bot


def _message(message: Message) -> Parsed | None:
    sender = message.from_user
    if message.chat.type != ChatType.PRIVATE or sender is None or sender.is_bot:
        return None
    user = UserRef(CHANNEL, str(sender.id))
    hint = sender.language_code
    content = message.content_type
    if content == ContentType.TEXT:
        text = message.text or ""
        kind = Kind.START if _START.match(text) else Kind.TEXT
        incoming = Incoming(user, kind, text=text, language_hint=hint)
    elif content == ContentType.CONTACT:
        contact = message.contact
        assert contact is not None
        # Telegram proves a number is the sender's own only in a contact the sender shared first-hand (the
        # share-phone button): its user_id is the sender's. A forwarded contact, or one sent through an inline bot
        # (which writes what it likes into it), proves nothing, whatever its user_id says.
        first_hand = message.forward_origin is None and message.via_bot is None
        incoming = Incoming(
            user, Kind.CONTACT, phone=normalize_phone(contact.phone_number),
            phone_is_own=first_hand and contact.user_id is not None and contact.user_id == sender.id,
            language_hint=hint,
        )  # fmt: skip
    elif content == ContentType.PHOTO:
        photo = max(message.photo or [], key=lambda size: size.width * size.height)
        attachment = Attachment("photo", photo.file_id, None, photo.file_size)
        incoming = Incoming(user, Kind.ATTACHMENT, text=message.caption or "", attachment=attachment,
                            language_hint=hint)  # fmt: skip
    elif content == ContentType.DOCUMENT:
        document = message.document
        assert document is not None
        attachment = Attachment("file", document.file_id, document.file_name, document.file_size)
        incoming = Incoming(user, Kind.ATTACHMENT, text=message.caption or "", attachment=attachment,
                            language_hint=hint)  # fmt: skip
    elif content in _UNSUPPORTED:
        incoming = Incoming(user, Kind.UNSUPPORTED, content_type=ContentType(content).value, language_hint=hint)
    else:
        return None  # service messages (pinned, payments, web app data…): nothing a person said
    return Parsed(incoming, message.chat.id)
