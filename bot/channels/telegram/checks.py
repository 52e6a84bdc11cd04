"""Telegram as the deployment configured it: the token, the webhook as Telegram has it, the support groups.

Only reading methods are called (`getMe`, `getWebhookInfo`, `getChat`, `getChatMember`): nothing is sent to anyone.
`check_group` is also what the desk relay of `mila run` asks while a group cannot take posts, to know when it can
again.
"""

from __future__ import annotations

import time

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetChat, GetChatMember, GetMe, GetWebhookInfo
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner, User

from bot.config import TelegramSettings
from bot.health import Finding, Level, error, ok, warning

PART = "telegram"
DESK = "desk"
TIMEOUT = 10
PENDING_WARNING = 100  # updates waiting at Telegram: a webhook that does not answer, or a bot that was down


def make_bot(settings: TelegramSettings) -> Bot:
    """The Bot API client on `TELEGRAM_API_BASE` (Telegram's, a self-hosted server, or a test double)."""
    assert settings.bot_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base.rstrip("/")))
    return Bot(settings.bot_token.get_secret_value(), session=session)


async def check_token(bot: Bot, settings: TelegramSettings) -> tuple[list[Finding], User | None]:
    """`getMe`: whose token this is. An error when Telegram refuses it (the Telegram channel cannot run)."""
    try:
        me = await bot(GetMe(), request_timeout=TIMEOUT)
    except TelegramUnauthorizedError:
        return [error(PART, "Telegram refuses the token (401 Unauthorized)",
                      "copy the bot's token from @BotFather into TELEGRAM_BOT_TOKEN")], None  # fmt: skip
    except TelegramNotFound:
        return [error(PART, f"no Bot API at {settings.api_base} (404)",
                      "check TELEGRAM_API_BASE, or leave it unset for Telegram's own")], None  # fmt: skip
    except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
        return [warning(PART, f"Telegram does not answer ({type(exc).__name__})",
                        "check the network path to TELEGRAM_API_BASE; mila run keeps trying")], None  # fmt: skip
    except TelegramAPIError as exc:
        return [error(PART, f"getMe refused: {exc.message}", "check TELEGRAM_BOT_TOKEN")], None
    return [ok(PART, f"token valid: @{me.username} (id {me.id}) — make sure this is the bot you meant")], me


async def check_webhook(bot: Bot, settings: TelegramSettings) -> list[Finding]:
    """`getWebhookInfo`: where Telegram sends updates now, how many wait, and its last delivery error."""
    try:
        info = await bot(GetWebhookInfo(), request_timeout=TIMEOUT)
    except (TelegramAPIError, TimeoutError, OSError) as exc:
        return [warning(PART, f"getWebhookInfo failed ({type(exc).__name__})")]
    findings: list[Finding] = []
    configured = settings.webhook_url
    if configured:
        if info.url == configured:
            findings.append(ok(PART, f"webhook {info.url}: Telegram has it, {info.pending_update_count} updates "
                                     "waiting"))  # fmt: skip
        elif not info.url:
            findings.append(warning(PART, "no webhook is set at Telegram yet", "mila run sets it when it starts"))
        else:
            findings.append(warning(PART, f"Telegram sends updates to {info.url}, not to TELEGRAM_WEBHOOK_URL",
                                    "mila run sets its own at start: another deployment of this bot?"))  # fmt: skip
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        if not secret:
            findings.append(error(PART, "TELEGRAM_WEBHOOK_SECRET is not set", "mila run refuses a webhook without "
                                        "one: set 1–256 characters of A-Z a-z 0-9 _ -"))  # fmt: skip
        else:
            findings.append(ok(PART, "webhook secret set (Telegram never shows its copy: mila run sets both)"))
    elif info.url:
        findings.append(warning(PART, f"a webhook is set ({info.url}) but TELEGRAM_WEBHOOK_URL is not",
                                "mila run (long polling) deletes it at start: is another deployment using this "
                                "bot?"))  # fmt: skip
    else:
        findings.append(ok(PART, f"long polling: no webhook set, {info.pending_update_count} updates waiting"))
    if info.pending_update_count > PENDING_WARNING:
        findings.append(warning(PART, f"{info.pending_update_count} updates are waiting at Telegram",
                                "the bot has not been taking them: is mila run running and reachable?"))  # fmt: skip
    if info.last_error_date is not None and info.last_error_date.timestamp() > time.time() - 24 * 3600:
        findings.append(warning(PART, f"Telegram's last delivery to the webhook failed at "
                                      f"{info.last_error_date:%Y-%m-%d %H:%M} UTC: {info.last_error_message}",
                                "check that the proxy forwards /webhook/telegram to mila run"))  # fmt: skip
    return findings


async def check_group(bot: Bot, bot_id: int, group: int) -> Finding:
    """Can the desk work in this group: a supergroup with topics, the bot an administrator allowed to manage
    topics (an administrator also sees every message, whatever its privacy mode)."""
    name = f"group {group}"
    try:
        chat = await bot(GetChat(chat_id=group), request_timeout=TIMEOUT)
    except TelegramBadRequest:
        return error(DESK, f"{name}: Telegram knows no such chat for this bot",
                     "add the bot to the group, and check SUPPORT_CHAT_ID (-100… for a supergroup)")  # fmt: skip
    except (TelegramForbiddenError, TelegramUnauthorizedError):
        return error(DESK, f"{name}: the bot is not a member", "add the bot to the group as an administrator")
    except (TelegramAPIError, TimeoutError, OSError) as exc:
        return warning(DESK, f"{name}: not checked, Telegram does not answer ({type(exc).__name__})")
    if chat.type != "supergroup":
        return error(DESK, f"{name} ({chat.title}): a {chat.type}, not a supergroup with topics",
                     "turn the group into a supergroup with Topics on, and use its new -100… id")  # fmt: skip
    if not chat.is_forum:
        return error(DESK, f"{name} ({chat.title}): topics are off", "turn on Topics in the group's settings")
    try:
        member = await bot(GetChatMember(chat_id=group, user_id=bot_id), request_timeout=TIMEOUT)
    except (TelegramAPIError, TimeoutError, OSError) as exc:
        return warning(DESK, f"{name}: the bot's rights not checked ({type(exc).__name__})")
    if isinstance(member, ChatMemberOwner):
        return ok(DESK, f"{name} ({chat.title}): a forum; the bot owns it")
    if not isinstance(member, ChatMemberAdministrator):
        return error(DESK, f"{name} ({chat.title}): the bot is not an administrator",
                     "make the bot an administrator with “Manage topics”")  # fmt: skip
    if not member.can_manage_topics:
        return error(DESK, f"{name} ({chat.title}): the bot may not manage topics",
                     "give the bot's administrator role “Manage topics”")  # fmt: skip
    return ok(DESK, f"{name} ({chat.title}): a forum; the bot is an administrator with “Manage topics” and sees "
                    "every message")  # fmt: skip


async def check_telegram(
    settings: TelegramSettings, groups: list[int], bot: Bot | None = None, *, webhook: bool = True
) -> list[Finding]:
    """Every Telegram check (`webhook=False`: not the webhook), on `bot` (one is made from the settings, and
    closed, when none is given)."""
    if settings.bot_token is None:
        return [ok(PART, "not configured (TELEGRAM_BOT_TOKEN unset)")] + (
            [error(DESK, "SUPPORT_CHAT_ID is set, but the desk needs the Telegram channel", "set TELEGRAM_BOT_TOKEN")]
            if groups else []
        )  # fmt: skip
    own = bot is None
    bot = bot or make_bot(settings)
    try:
        findings, me = await check_token(bot, settings)
        if me is None:
            if groups:
                refused = any(f.level is Level.ERROR for f in findings)
                level = Level.ERROR if refused else Level.WARNING
                findings.append(Finding(DESK, level, "the support groups were not checked: getMe did not succeed"))
            return findings
        if webhook:
            findings += await check_webhook(bot, settings)
        for group in groups:
            findings.append(await check_group(bot, me.id, group))
        return findings
    finally:
        if own:
            await bot.session.close()
