"""The bytes of a file a user sent in the chat, fetched from their messenger when a department needs them.

A complaint keeps the messenger's own reference (a Telegram `file_id`, a Viber media URL). The e-mail to the
department is where the file itself is needed, so the mail worker fetches it just before sending: nothing is
copied into our database, and a file too large for an e-mail stays a reference in the mail's text.

- Telegram: `getFile` gives a path, then `{TELEGRAM_API_BASE}/file/bot<token>/<path>`. The URL holds the bot
  token, so it is never logged and never leaves this module; errors are reported by their type only.
- Viber: the media URL came in a signed callback, but its content is the sender's client's to write: it is fetched
  only from Viber's media hosts (`VIBER_MEDIA_HOSTS`), never from an address inside the network, redirects
  checked hop by hop, within a size and a time limit (`safe_fetch`). Anything else stays a reference.
- Other channels (the console) keep no file: nothing to fetch.
"""

from __future__ import annotations

import logging
import mimetypes
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from bot.config import DEFAULT_VIBER_MEDIA_HOSTS, Settings
from bot.services.safe_fetch import FetchRefused, Network, SafeFetcher, TooLarge, parse_hosts, read_limited

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
        try:
            return await read_limited(response, MAX_ATTACHMENT_BYTES)
        except TooLarge:
            raise FileTooLarge() from None


MAX_FILE_NAME = 100


def safe_file_name(name: str | None) -> str:
    """A file name a user chose, fit for an e-mail header and a department's disk: no control or format characters
    (line breaks would break the header; a right-to-left override disguises `gpj.exe` as `exe.jpg`), no path, at
    most `MAX_FILE_NAME` characters with the extension kept; "attachment" when nothing is left."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in unicodedata.normalize("NFC", name or "")
        if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn")
    )
    cleaned = " ".join(cleaned.replace("/", "_").replace("\\", "_").split()).replace(" .", ".").lstrip(". ")
    if len(cleaned) > MAX_FILE_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and stem and len(extension) <= 16:
            cleaned = stem[: MAX_FILE_NAME - len(extension) - 1].rstrip() + "." + extension
        else:
            cleaned = cleaned[:MAX_FILE_NAME].rstrip()
    return cleaned or "attachment"


def _typed(content: bytes, name: str) -> FetchedFile:
    name = safe_file_name(name)
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
    """Viber's media URLs: fetched only from Viber's own hosts and never from an address inside the network (see
    `safe_fetch`): the URL is the sender's to write, the e-mail it ends up in leaves the company."""

    def __init__(
        self,
        hosts: str | Sequence[str] = DEFAULT_VIBER_MEDIA_HOSTS,
        *,
        resolver: AbstractResolver | None = None,
        allowed_networks: Sequence[Network] = (),
    ) -> None:
        self.fetcher = SafeFetcher(
            parse_hosts(hosts), max_bytes=MAX_ATTACHMENT_BYTES, timeout_seconds=FETCH_TIMEOUT_SECONDS,
            resolver=resolver, allowed_networks=allowed_networks,
        )  # fmt: skip

    async def fetch(self, file_ref: str, file_name: str | None) -> FetchedFile:
        try:
            content = await self.fetcher.get(file_ref)
        except TooLarge:
            raise FileTooLarge() from None
        return _typed(content, file_name or urlsplit(file_ref).path.rsplit("/", 1)[-1] or "attachment")


def fetchers_for(settings: Settings) -> dict[str, AttachmentFetcher]:
    """The fetchers of the configured channels, by channel name."""
    fetchers: dict[str, AttachmentFetcher] = {}
    if settings.telegram.bot_token is not None:
        fetchers["telegram"] = TelegramFiles(settings.telegram.api_base, settings.telegram.bot_token.get_secret_value())
    if settings.viber.auth_token is not None and settings.viber.auth_token.get_secret_value():
        fetchers["viber"] = UrlFiles(settings.viber.media_hosts)
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
    except FetchRefused as exc:
        log.warning("attachment refused: sent as a reference", extra={"channel": channel, "reason": str(exc)})
    except (aiohttp.ClientError, TimeoutError, LookupError, KeyError, ValueError) as exc:
        log.warning("attachment not fetched", extra={"channel": channel, "error": type(exc).__name__})
    return None
