"""The bytes of a file a user sent in the chat, fetched from their messenger when a department needs them.

A complaint keeps the messenger's own reference (a Telegram `file_id`, a Viber media URL). The e-mail to the
department is where the file itself is needed, so the mail worker fetches it just before sending: nothing is
copied into our database, and a file too large for an e-mail stays a reference in the mail's text.

- Telegram: `getFile` gives a path, then `{TELEGRAM_API_BASE}/file/bot<token>/<path>`. The URL holds the bot
  token, so it is never logged and never leaves this module; errors are reported by their type only.
- Viber: the media URL came in a signed callback; it is fetched as is (Viber keeps it available for a while).
- Other channels (the console) keep no file: nothing to fetch.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from bot.config import Settings

log = logging.getLogger("mila.attachments")

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # what mail servers commonly accept, with room for the encoding
FETCH_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class FetchedFile:
    content: bytes
    file_name: str
    mime_type: str


class FileTooLarge(Exception):
    """The file is larger than an e-mail can carry: the reference goes instead."""


class AttachmentFetcher(Protocol):
    async def fetch(self, file_ref: str, file_name: str | None) -> FetchedFile: ...


async def _download(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)) as response:
        response.raise_for_status()
        if (response.content_length or 0) > MAX_ATTACHMENT_BYTES:
            raise FileTooLarge()
        content = await response.content.read(MAX_ATTACHMENT_BYTES + 1)
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise FileTooLarge()
        return content


def _typed(content: bytes, name: str) -> FetchedFile:
    mime, _ = mimetypes.guess_type(name)
    return FetchedFile(content, name, mime or "application/octet-stream")


class TelegramFiles:
    def __init__(self, api_base: str, token: str) -> None:
        self.api_base = api_base.rstrip("/")
        self._token = token

    async def fetch(self, file_ref: str, file_name: str | None) -> FetchedFile:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{self.api_base}/bot{self._token}/getFile",
                data={"file_id": file_ref},
                timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS),
            ) as response:
                answer = await response.json(content_type=None)
            if not isinstance(answer, dict) or not answer.get("ok"):
                raise LookupError("getFile refused")
            result = answer["result"]
            if int(result.get("file_size") or 0) > MAX_ATTACHMENT_BYTES:
                raise FileTooLarge()
            path = str(result["file_path"])
            content = await _download(session, f"{self.api_base}/file/bot{self._token}/{path}")
        return _typed(content, file_name or path.rsplit("/", 1)[-1])


class UrlFiles:
    async def fetch(self, file_ref: str, file_name: str | None) -> FetchedFile:
        if not file_ref.startswith(("https://", "http://")):
            raise LookupError("not a URL")
        async with aiohttp.ClientSession() as session:
            content = await _download(session, file_ref)
        return _typed(content, file_name or file_ref.rsplit("/", 1)[-1].split("?", 1)[0] or "attachment")


def fetchers_for(settings: Settings) -> dict[str, AttachmentFetcher]:
    """The fetchers of the configured channels, by channel name."""
    fetchers: dict[str, AttachmentFetcher] = {}
    if settings.telegram.bot_token is not None:
        fetchers["telegram"] = TelegramFiles(settings.telegram.api_base, settings.telegram.bot_token.get_secret_value())
    if settings.viber.auth_token is not None and settings.viber.auth_token.get_secret_value():
        fetchers["viber"] = UrlFiles()
    return fetchers


async def fetch_attachment(
    fetchers: Mapping[str, AttachmentFetcher], channel: str, file_ref: str, file_name: str | None
) -> FetchedFile | None:
    """The file, or None when it cannot be had (no fetcher, too large, the messenger refused or is unreachable):
    the caller then sends the reference instead, so a complaint is never held back by its attachment."""
    fetcher = fetchers.get(channel)
    if fetcher is None:
        return None
    try:
        return await fetcher.fetch(file_ref, file_name)
    except FileTooLarge:
        log.info("attachment too large for an e-mail: sent as a reference", extra={"channel": channel})
    except (aiohttp.ClientError, TimeoutError, LookupError, KeyError, ValueError) as exc:
        log.warning("attachment not fetched", extra={"channel": channel, "error": type(exc).__name__})
    return None
