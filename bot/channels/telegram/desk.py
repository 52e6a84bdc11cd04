"""The operators' desk: the Telegram support group(s) with one forum topic per ticket.

Updates from a configured support group never reach the engine: they come here. Only the configured groups are
accepted, and only private ones: an operator is a person who is a member of one (Telegram tells us the chat of
every update, and a private group's messages and button presses come only from its members). A public group
stops start-up, since anyone could join it, or read it and press a card's buttons without joining; a post made
on behalf of a chat (an anonymous admin, a channel, a linked channel's automatic forward) is nobody's, so it is
not relayed. In a ticket's topic an operator's message is relayed
to the user on their own channel; `/take`, `/close`, `/transfer [group id]` and `/note text` are service
commands, and the card's buttons take or close the ticket. What the bot posts into the group (topics, cards,
the users' messages) goes through the paced relay queue (`SupportWorker`); this class is how it posts.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import TYPE_CHECKING, Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    CloseForumTopic,
    CopyMessage,
    CreateForumTopic,
    GetChat,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.telegram.checks import check_group
from bot.channels.telegram.sender import Blocked, Sender
from bot.config import ConfigError
from bot.core.i18n import N_
from bot.core.ids import parse_id
from bot.core.incoming import Attachment
from bot.core.replies import Picture, Reply, Text
from bot.health import Finding
from bot.services.attachments import AttachmentFetcher, FileTooLarge
from bot.services.support import tickets
from bot.services.support.relay import Item
from bot.services.support.service import DESK_PAYLOAD, Support
from bot.services.support.worker import DeskRefused, DeskUnavailable

if TYPE_CHECKING:
    from bot.services.support.service import Outcome

log = logging.getLogger("mila.telegram.desk")

DESK_HELP = N_("Commands in a ticket's topic: /take, /close, /transfer (back to the queue) or /transfer <group id>, "
               "/note <text> (the user does not see it). Anything else you write here goes to the user.")  # fmt: skip
DESK_DONE = N_("Done.")
DESK_NOT_POSSIBLE = N_("Not possible: the ticket is closed or does not exist.")
OPERATOR_ATTACHMENT = N_("The operator sent an attachment that can't be shown in this chat.")
MEDIA_PATH = "/support/media/{token}"
MEDIA_TTL_SECONDS = 7 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class Desk:
    def __init__(self, bot: Bot, sender: Sender, support: Support, files: AttachmentFetcher) -> None:
        self.bot = bot
        self.sender = sender
        self.support = support
        self.files = files  # the one way mila fetches a file from Telegram (the bot token stays inside it)
        self.groups = set(support.groups)

    def routes(self) -> list[web.RouteDef]:
        """Operators' photos and files for Viber users, by an unguessable link (when `SUPPORT_MEDIA_URL` is set)."""
        return [web.get(MEDIA_PATH, self.media)] if self.support.settings.media_url else []

    async def refuse_public_groups(self) -> None:
        """Start-up stops when a support group is public: its members are the operators, and a public group's
        members are whoever joins. A group that can't be read at start is logged and not held against it."""
        for group in sorted(self.groups):
            try:
                chat = await self.sender.call(GetChat(chat_id=group), None, paced=False)
            except Exception as exc:  # a group that can't be read now is not known to be public
                log.warning("could not check that a support group is private", extra={"error": type(exc).__name__})
                continue
            if getattr(chat, "username", None):
                raise ConfigError(
                    f"configuration error: SUPPORT_CHAT_ID {group} is a public group (@{chat.username}): anyone "
                    "could join it, read users' messages and answer them; make it private"
                )

    # --- which updates are ours ------------------------------------------------------------------------------
    def owns(self, update: Update) -> int | None:
        """The support group an update comes from, or None when it is not for the desk."""
        if update.message is not None and update.message.chat.id in self.groups:
            return update.message.chat.id
        query = update.callback_query
        if query is not None and query.message is not None and query.message.chat.id in self.groups:
            return query.message.chat.id
        return None

    async def handle(self, update: Update) -> None:
        if update.callback_query is not None:
            await self._button(update.callback_query)
        elif update.message is not None:
            await self._message(update.message)

    # --- operators' buttons and messages ------------------------------------------------------------------------
    async def _button(self, query: CallbackQuery) -> None:
        action, _, raw = (query.data or "").removeprefix(DESK_PAYLOAD + ":").partition(":")
        answer = self.support.desk.gettext(DESK_NOT_POSSIBLE)
        ticket_id = parse_id(raw)
        if (query.data or "").startswith(DESK_PAYLOAD + ":") and ticket_id is not None and action in ("take", "close"):
            operator, name = str(query.from_user.id), query.from_user.first_name
            group = query.message.chat.id if query.message is not None else None
            if action == "take":
                outcome = await self.support.take(ticket_id, operator, name, group=group)
            else:
                outcome = await self.support.close(ticket_id, "operator", name, group=group)
            if outcome.ok:
                answer = self.support.desk.gettext(DESK_DONE)
        try:
            call = AnswerCallbackQuery(callback_query_id=query.id, text=answer[:200])
            await self.sender.call(call, None, paced=False)
        except Exception as exc:  # the button only spins a little longer
            log.info("desk callback not answered", extra={"error": type(exc).__name__})

    async def _message(self, message: Message) -> None:
        sender = message.from_user
        if sender is None or sender.is_bot or not message.is_topic_message or message.message_thread_id is None:
            return  # the bot's own posts, the general topic, service messages
        if message.sender_chat is not None or message.is_automatic_forward:
            return  # on behalf of a chat (a channel, an anonymous admin): no person, so no operator
        async with self.support.sessionmaker() as db:
            ticket = await tickets.by_topic(db, message.chat.id, message.message_thread_id)
        if ticket is None:
            return
        operator, name = str(sender.id), sender.first_name
        text = (message.text or message.caption or "").strip()
        if message.text is not None and text.startswith("/"):
            await self._command(ticket.id, message.chat.id, operator, name, text)
            return
        attachment = _attachment(message)
        if not text and attachment is None:
            return  # a sticker, a service message: nothing for the user
        t = self.support.i18n.get(ticket.language)
        replies: list[Reply] = [self.support.operator_text(ticket, name, text or "📎")]
        copy_to: int | None = None
        if attachment is not None:
            if ticket.channel == "telegram" and ticket.external_id.lstrip("-").isdigit():
                copy_to = int(ticket.external_id)
            elif (link := await self._publish(attachment)) is None:
                replies.append(Text(t.gettext(OPERATOR_ATTACHMENT)))
            elif attachment.kind == "photo":
                replies.append(Picture(link))
            else:
                replies.append(Text(f"📎 {attachment.file_name or 'file'}: {link}"))
        result = await self.support.operator_said(ticket.id, operator, name, text, attachment, replies)
        if result is not None and result.sent and copy_to is not None:
            await self._copy(copy_to, message)

    async def _publish(self, attachment: Attachment) -> str | None:
        """A link for a user whose messenger takes media by URL only (Viber); None when there is no public URL."""
        base = self.support.settings.media_url
        if not base:
            return None
        token = secrets.token_urlsafe(24)
        value = json.dumps({"f": attachment.file_ref, "n": attachment.file_name or ""})
        await self.support.redis.set(self._media_key(token), value, ex=MEDIA_TTL_SECONDS)
        return base + MEDIA_PATH.replace("{token}", token)

    def _media_key(self, token: str) -> str:
        return f"{self.support.prefix}support:media:{token}"

    async def media(self, request: web.Request) -> web.Response:
        """GET /support/media/{token}: the operator's file, fetched from Telegram (the bot token never leaves us)."""
        token = request.match_info["token"]
        if not _TOKEN.fullmatch(token):
            raise web.HTTPNotFound()
        try:
            raw = await self.support.redis.get(self._media_key(token))
        except RedisError:
            raise web.HTTPServiceUnavailable() from None
        if raw is None:
            raise web.HTTPNotFound()
        stored = json.loads(raw)
        try:
            fetched = await self.files.fetch(stored["f"], stored["n"] or None)
        except (LookupError, FileTooLarge):
            raise web.HTTPNotFound() from None
        except (aiohttp.ClientError, TimeoutError):
            raise web.HTTPServiceUnavailable() from None
        return web.Response(body=fetched.content, content_type=fetched.mime_type,
                            headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip

    async def _copy(self, user_chat: int, message: Message) -> None:
        """A photo or file of the operator, to a Telegram user: the message itself, copied (no re-upload)."""
        try:
            await self.sender.call(
                CopyMessage(chat_id=user_chat, from_chat_id=message.chat.id, message_id=message.message_id), user_chat
            )
        except (TelegramBadRequest, Blocked, TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            log.warning("operator attachment not copied", extra={"error": type(exc).__name__})

    async def _command(self, ticket_id: int, group: int, operator: str, name: str, text: str) -> None:
        head, _, rest = text.partition(" ")
        command = head[1:].split("@")[0].lower()
        outcome: Outcome | None = None
        if command == "take":
            outcome = await self.support.take(ticket_id, operator, name)
        elif command == "close":
            outcome = await self.support.close(ticket_id, "operator", name)
        elif command == "transfer":
            target = rest.strip()
            if target.lstrip("-").isdigit():
                outcome = await self.support.transfer(ticket_id, int(target), name)
            else:
                outcome = await self.support.release(ticket_id, name)
        elif command == "note" and rest.strip():
            outcome = await self.support.note(ticket_id, name, rest.strip())
            if outcome.ok:
                return  # the note is in the topic already, for everyone to read
        if outcome is None:
            await self.support.relay.push(group, ticket_id, _sys(self.support.desk.gettext(DESK_HELP)))
        elif not outcome.ok:
            await self.support.relay.push(group, ticket_id, _sys(self.support.desk.gettext(DESK_NOT_POSSIBLE)))

    # --- posting into the group (DeskPoster, called by the worker at the allowed pace) --------------------------
    async def check(self, group: int) -> Finding:
        """Whether the group can take posts at all: the same check as `mila doctor`'s."""
        return await check_group(self.bot, self.bot.id, group)

    async def open_topic(self, group: int, title: str) -> int:
        topic = await self._call(CreateForumTopic(chat_id=group, name=title))
        return int(topic.message_thread_id)

    async def post(
        self, group: int, thread: int | None, text: str, attachment: dict[str, str] | None,
        buttons: list[list[str]] | None,
    ) -> None:  # fmt: skip
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]]
            )
        method: TelegramMethod[Any]
        if attachment is not None and attachment.get("kind") == "photo":
            method = SendPhoto(chat_id=group, message_thread_id=thread, photo=attachment["ref"],
                               caption=text[:1024] or None)  # fmt: skip
        elif attachment is not None:
            method = SendDocument(chat_id=group, message_thread_id=thread, document=attachment["ref"],
                                  caption=text[:1024] or None)  # fmt: skip
        else:
            method = SendMessage(chat_id=group, message_thread_id=thread, text=text[:4096] or "…", reply_markup=markup)
        await self._call(method)

    async def close_topic(self, group: int, thread: int) -> None:
        await self._call(CloseForumTopic(chat_id=group, message_thread_id=thread))

    async def _call(self, method: TelegramMethod[Any]) -> Any:
        try:
            return await self.sender.call(method, None, paced=False)
        except TelegramRetryAfter as exc:
            raise DeskUnavailable(float(exc.retry_after)) from exc
        except (TelegramNetworkError, TelegramServerError) as exc:
            raise DeskUnavailable() from exc
        except Blocked as exc:  # 403: the bot is no longer in the group (the worker checks the group)
            raise DeskRefused("the bot is not a member of the group") from exc
        except TelegramBadRequest as exc:
            raise DeskRefused(exc.message) from exc


def _sys(text: str) -> Item:
    return Item("sys", text=text)


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        photo = max(message.photo, key=lambda size: size.width * size.height)
        return Attachment("photo", photo.file_id, None, photo.file_size)
    if message.document is not None:
        document = message.document
        return Attachment("file", document.file_id, document.file_name, document.file_size)
    return None
