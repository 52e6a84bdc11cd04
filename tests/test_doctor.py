"""`mila doctor` against the test doubles of every service: each check passing, and each failing the way it fails
in life — a wrong token, a group that is not a forum, a bot that is not an administrator, a mail server refusing
the sender, a provisioning path that answers 404, a database one migration behind. It never sends anything to
anyone, and its exit status says whether there was an error."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.cli import main
from bot.db.migrate import upgrade
from tests.conftest import REDIS_URL
from tests.fakes.provisioning import FakeProvisioning
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi
from tests.service import free_port, mila_env, spawn_mila, stop_mila
from tests.smtp import SmtpServer
from tests.viber.conftest import TOKEN as VIBER_TOKEN

GROUP = -1001234567890
OTHER_GROUP = -1009876543210
SENDER = "mila@mts.test"
READING = {"getMe", "getWebhookInfo", "getChat", "getChatMember"}  # the only Bot API methods the doctor calls


@dataclass
class World:
    """Every service of a deployment, as test doubles, and the environment that points mila at them."""

    telegram: FakeTelegram
    viber: FakeViberApi
    smtp: SmtpServer
    provisioning: FakeProvisioning
    sms: FakeSmsGateway
    env: dict[str, str]


@pytest.fixture
async def world(
    fake_telegram: FakeTelegram, viber_api: FakeViberApi, smtp: SmtpServer, sqlite_url: str, redis_prefix: str
) -> AsyncIterator[World]:
    provisioning, sms = FakeProvisioning(), FakeSmsGateway()
    await provisioning.start()
    await sms.start()
    fake_telegram.support_group(GROUP, "mts podrška")
    fake_telegram.support_group(OTHER_GROUP, "mts podrška 2")
    env = {
        "DATABASE_URL": sqlite_url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": redis_prefix, "MILA_PROFILE": "rs",
        "MILA_ENV": "production", "MILA_SECRET_KEY": "k" * 40,
        "TELEGRAM_BOT_TOKEN": fake_telegram.token, "TELEGRAM_API_BASE": fake_telegram.base_url,
        "SUPPORT_CHAT_ID": f"{GROUP},{OTHER_GROUP}",
        "VIBER_AUTH_TOKEN": VIBER_TOKEN, "VIBER_API_BASE": viber_api.url,
        "VIBER_WEBHOOK_URL": "https://bot.example.com/webhook/viber",
        "SMTP_URL": smtp.url, "MAIL_FROM": SENDER,
        "PROVISIONING_URL": provisioning.url, "PROVISIONING_SECRET": provisioning.secret,
        "SMS_GATEWAY_URL": sms.url, "SMS_GATEWAY_TOKEN": sms.token,
        "HTTP_PORT": "8080", "ADMIN_PORT": "8081",
    }  # fmt: skip
    yield World(fake_telegram, viber_api, smtp, provisioning, sms, env)
    await provisioning.close()
    await sms.close()


async def doctor(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, **env: str
) -> tuple[int, list[tuple[str, str, str]]]:
    """`mila doctor` with the world's environment (changed by `env`; "" unsets): its exit status and its lines
    as (level, part, text). In a thread, so that the doubles on this test's loop keep answering."""
    for name in os.environ:
        if name.startswith(("TELEGRAM_", "VIBER_", "MILA_", "SMTP_", "MAIL_", "PROVISIONING_", "SMS_", "SUPPORT_",
                            "ADMIN_", "HTTP_", "REDIS_", "DATABASE_")):  # fmt: skip
            monkeypatch.delenv(name)
    for name, value in (world.env | env).items():
        if value:
            monkeypatch.setenv(name, value)
    code = await asyncio.to_thread(main, ["doctor", *args])
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].endswith("warnings"), lines
    parsed = []
    for line in lines[:-1]:
        level, part, text = line.split(maxsplit=2)
        parsed.append((level, part, text))
    return code, parsed


def errors(lines: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(part, text) for level, part, text in lines if level == "error"]


def said(lines: list[tuple[str, str, str]]) -> list[str]:
    return [f"{level} {part} {text}" for level, part, text in lines]


async def test_every_check_passes_against_working_services(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = await doctor(world, monkeypatch, capsys)
    assert code == 0, lines
    expected = [
        "ok database sqlite+aiosqlite:///", "warning database SQLite in production: only one mila process may use it",
        "ok redis redis://127.0.0.1:6379/0: reachable (Redis ", "warning redis Redis keeps no append-only file",
        "ok profile rs (rs.yaml): valid, languages sr, sr-Cyrl, tk",
        "warning profile 19 texts marked draft: policies, support_hours, services.sms, ",
        "warning profile payment is missing: the invoice for advance payment carries no payee",
        "warning profile texts is missing discount_package: the discount package is confirmed without saying",
        "ok security MILA_ENV=production, MILA_SECRET_KEY set",
        "ok admin the web console on 127.0.0.1:8081, apart from the webhook port 8080",
        "ok telegram token valid: @mila_test_bot (id 123456789) — make sure this is the bot you meant",
        "ok telegram long polling: no webhook set, 0 updates waiting",
        f"ok desk group {GROUP} (mts podrška): a forum; the bot is an administrator with “Manage topics” and sees "
        "every message",
        f"ok desk group {OTHER_GROUP} (mts podrška 2): a forum; the bot is an administrator",
        "ok viber token valid: the bot “mts Srbija” (uri mtssrbija) — make sure this is the bot you meant",
        "warning viber no webhook is set at Viber yet — mila run sets it when it starts",
        f"ok mail 127.0.0.1:{world.smtp.port} (no TLS) takes the sender <{SENDER}>; nothing was sent",
        f"ok provisioning {world.provisioning.url} answers the signed probe with 200",
        f"ok sms {world.sms.url} answers the signed probe with 200",
    ]  # fmt: skip
    shown = said(lines)
    assert len(shown) == len(expected) and all(line.startswith(e) for line, e in zip(shown, expected, strict=True)), (
        "\n".join(shown))  # fmt: skip
    assert "at the newest revision 0011" in shown[0]
    # Nothing reached anyone: only reading calls to Telegram and Viber, no e-mail, no SMS, no order.
    assert {call.method for call in world.telegram.calls} == READING
    assert {call.endpoint for call in world.viber.calls} == {"get_account_info"}
    assert world.smtp.received == [] and world.sms.sent == [] and world.provisioning.orders == []
    assert (world.provisioning.probes, world.sms.probes) == (1, 1)


@pytest.mark.parametrize(
    ("case", "env", "expected"),
    [
        ("a wrong Telegram token", {"TELEGRAM_BOT_TOKEN": "123456789:AAnot-the-bot-s-token"},
         [("telegram", "Telegram refuses the token (401 Unauthorized) — copy the bot's token from @BotFather"),
          ("desk", "the support groups were not checked: getMe did not succeed")]),
        ("a group the bot is not in", {"SUPPORT_CHAT_ID": "-1005555555555"},
         [("desk", "group -1005555555555: Telegram knows no such chat for this bot — add the bot to the group")]),
        ("a wrong Viber token", {"VIBER_AUTH_TOKEN": "4453b6ac00000000-e02c5f1217480000-daec9cbb54480000"},
         [("viber", "Viber refuses the token (status 2, invalidAuthToken)")]),
        ("a provisioning path that answers 404", {"PROVISIONING_URL": "{provisioning}/order"},
         [("provisioning", "http://127.0.0.1:{port}/order answers 404: nothing takes POSTs at that path")]),
        ("a provisioning secret the receiver does not share", {"PROVISIONING_SECRET": "another-secret"},
         [("provisioning", "http://127.0.0.1:{port}/orders refuses the probe's credentials (401) — check "
                           "PROVISIONING_SECRET")]),
        ("an SMS gateway token it refuses", {"SMS_GATEWAY_TOKEN": "wrong"},
         [("sms", "refuses the probe's credentials (401) — check SMS_GATEWAY_TOKEN")]),
        ("a mail server that is not there", {"SMTP_URL": "smtp://127.0.0.1:9"},
         [("mail", "cannot talk to the mail server at 127.0.0.1:9")]),
        ("the embedded store in production", {"REDIS_URL": ""},
         [("redis", "REDIS_URL is not set: the embedded in-process store, with MILA_ENV=production")]),
        ("the console on the webhook port", {"ADMIN_PORT": "8080", "ADMIN_HOST": "0.0.0.0"},
         [("admin", "the web console (ADMIN_HOST 0.0.0.0, ADMIN_PORT 8080) would listen on the webhook port")]),
        ("no channel at all", {"TELEGRAM_BOT_TOKEN": "", "VIBER_AUTH_TOKEN": "", "SUPPORT_CHAT_ID": ""},
         [("channels", "neither TELEGRAM_BOT_TOKEN nor VIBER_AUTH_TOKEN is set: mila run has nothing to serve")]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)  # fmt: skip
async def test_each_check_fails_as_it_does_in_life(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    env: dict[str, str],
    expected: list[tuple[str, str]],
) -> None:
    port = world.provisioning.base.rsplit(":", 1)[1]
    env = {k: v.format(provisioning=world.provisioning.base) for k, v in env.items()}
    code, lines = await doctor(world, monkeypatch, capsys, **env)
    found = errors(lines)
    assert code == 1, (case, lines)
    assert [part for part, _ in found] == [part for part, _ in expected], (case, found)
    for (_, text), (_, fragment) in zip(found, expected, strict=True):
        assert fragment.format(port=port) in text, (case, fragment, text)
    assert world.smtp.received == [] and world.sms.sent == [] and world.provisioning.orders == []


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (dict(is_forum=False), "(mts podrška): topics are off — turn on Topics in the group's settings"),
        (dict(kind="group", is_forum=False), "(mts podrška): a group, not a supergroup with topics — turn the group "
                                             "into a supergroup with Topics on, and use its new -100… id"),
        (dict(bot_status="member"), "(mts podrška): the bot is not an administrator — make the bot an administrator "
                                    "with “Manage topics”"),
        (dict(can_manage_topics=False), "(mts podrška): the bot may not manage topics — give the bot's administrator "
                                        "role “Manage topics”"),
        (dict(bot_status="kicked"), ": the bot is not a member — add the bot to the group as an administrator"),
    ],
    ids=["topics off", "a plain group", "the bot not an administrator", "no right to manage topics", "bot removed"],
)  # fmt: skip
async def test_a_support_group_the_desk_cannot_work_in(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: dict[str, object],
    problem: str,
) -> None:
    world.telegram.support_group(GROUP, "mts podrška", **setup)  # type: ignore[arg-type]
    code, lines = await doctor(world, monkeypatch, capsys)
    assert code == 1
    assert errors(lines) == [("desk", f"group {GROUP}" + (problem if problem.startswith(":") else " " + problem))]
    assert [level for level, part, _ in lines if part == "desk"] == ["error", "ok"]  # the other group works


async def test_a_mail_server_that_refuses_the_sender(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.smtp.refused_senders.add(SENDER)
    code, lines = await doctor(world, monkeypatch, capsys)
    assert code == 1
    [(part, text)] = errors(lines)
    assert part == "mail" and f"refuses the sender MAIL_FROM <{SENDER}>: 550 5.7.1 Sender address rejected" in text
    assert "use a sender address the mail server accepts" in text
    assert world.smtp.received == []


async def test_a_database_one_migration_behind_or_not_migrated(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    behind = f"sqlite+aiosqlite:///{tmp_path / 'behind.sqlite3'}"
    await asyncio.to_thread(upgrade, behind, "0010")
    code, lines = await doctor(world, monkeypatch, capsys, DATABASE_URL=behind)
    assert code == 1
    assert errors(lines) == [("database", f"{behind}: at revision 0010, 1 migration(s) behind the newest 0011 — run "
                                          "`mila db upgrade`")]  # fmt: skip
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    code, lines = await doctor(world, monkeypatch, capsys, DATABASE_URL=empty)
    assert code == 1 and errors(lines) == [("database", f"{empty}: not migrated (no schema revision) — run "
                                                        "`mila db upgrade`")]  # fmt: skip
    code, lines = await doctor(world, monkeypatch, capsys, DATABASE_URL="postgresql+asyncpg://mila@127.0.0.1:9/mila")
    assert code == 1 and errors(lines)[0][0] == "database" and "does not answer" in errors(lines)[0][1]


async def test_without_probes_the_services_are_only_connected_to(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = await doctor(world, monkeypatch, capsys, "--no-probe")
    assert code == 0, lines
    said = {part: text for level, part, text in lines if part in ("provisioning", "sms")}
    assert said["provisioning"].endswith("/orders accepts connections (not probed)")
    assert said["sms"].endswith("/sms accepts connections (not probed)")
    assert (world.provisioning.probes, world.sms.probes) == (0, 0)


async def test_the_webhooks_as_the_platforms_have_them(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Telegram's webhook set by another deployment, its last delivery failing; Viber's pointing elsewhere."""
    world.telegram.webhook = {"url": "https://old.example.com/webhook/telegram", "secret_token": "x"}
    world.telegram.webhook_error = (time.time() - 60, "Connection refused")
    world.viber.webhook_url = "https://old.example.com/webhook/viber"
    webhook = {"TELEGRAM_WEBHOOK_URL": "https://bot.example.com/webhook/telegram"}
    code, lines = await doctor(world, monkeypatch, capsys, **webhook, TELEGRAM_WEBHOOK_SECRET="s3cret")
    assert code == 0
    warned = [line for line in said(lines) if line.startswith("warning telegram") or line.startswith("warning viber")]
    assert warned[0] == (
        "warning telegram Telegram sends updates to https://old.example.com/webhook/telegram, not to "
        "TELEGRAM_WEBHOOK_URL — mila run sets its own at start: another deployment of this bot?"
    )
    assert warned[1].startswith("warning telegram Telegram's last delivery to the webhook failed at ")
    assert warned[1].endswith(" UTC: Connection refused — check that the proxy forwards /webhook/telegram to mila run")
    assert warned[2] == (
        "warning viber Viber sends callbacks to https://old.example.com/webhook/viber, not to "
        "VIBER_WEBHOOK_URL — mila run sets its own at start: another deployment of this bot?"
    )
    assert "ok telegram webhook secret set (Telegram never shows its copy: mila run sets both)" in said(lines)
    code, lines = await doctor(world, monkeypatch, capsys, **webhook)
    assert code == 1 and errors(lines) == [
        (
            "telegram",
            "TELEGRAM_WEBHOOK_SECRET is not set — mila run refuses a "
            "webhook without one: set 1–256 characters of A-Z a-z 0-9 _ -",
        )
    ]


# --- mila run acts on the same checks at start ------------------------------------------------------------------
async def run_until_exit(env: dict[str, str], log_path: Path, timeout: float = 60.0) -> tuple[int, str]:
    process = await spawn_mila(env, log_path)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        await stop_mila(process)
        raise AssertionError(f"mila run did not stop by itself:\n{log_path.read_text()}") from None
    assert process.returncode is not None
    return process.returncode, log_path.read_text()


async def test_mila_run_refuses_a_database_one_migration_behind(
    fake_telegram: FakeTelegram, redis_prefix: str, tmp_path: Path
) -> None:
    behind = f"sqlite+aiosqlite:///{tmp_path / 'behind.sqlite3'}"
    await asyncio.to_thread(upgrade, behind, "0010")
    env = mila_env(database_url=behind, redis_prefix=redis_prefix, port=free_port(),
                   TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_BASE=fake_telegram.base_url)  # fmt: skip
    code, logs = await run_until_exit(env, tmp_path / "mila.log")
    assert code == 2
    assert "mila: configuration error: DATABASE_URL: " in logs
    assert "at revision 0010, 1 migration(s) behind the newest 0011: run `mila db upgrade`" in logs
    assert not [c for c in fake_telegram.calls if c.method not in READING]  # nothing was started


async def test_mila_run_with_a_refused_token_starts_without_that_channel_or_not_at_all(
    fake_telegram: FakeTelegram, viber_api: FakeViberApi, sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    wrong = {"TELEGRAM_BOT_TOKEN": "123456789:AAnot-the-bot-s-token", "TELEGRAM_API_BASE": fake_telegram.base_url}
    env = mila_env(database_url=sqlite_url, redis_prefix=redis_prefix, port=free_port(), **wrong)
    code, logs = await run_until_exit(env, tmp_path / "alone.log")
    assert code == 2 and "no channel can start: telegram: error: Telegram refuses the token (401 Unauthorized)" in logs

    port = free_port()
    viber = {"VIBER_AUTH_TOKEN": VIBER_TOKEN, "VIBER_API_BASE": viber_api.url,
             "VIBER_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhook/viber"}  # fmt: skip
    env = mila_env(database_url=sqlite_url, redis_prefix=redis_prefix, port=port, **wrong, **viber)
    log_path = tmp_path / "both.log"
    process = await spawn_mila(env, log_path)
    try:
        deadline = time.monotonic() + 60
        while viber_api.webhook_url is None:  # Viber starts: its webhook is set once the server listens
            assert process.returncode is None and time.monotonic() < deadline, log_path.read_text()
            await asyncio.sleep(0.05)
        async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
            health = json.loads(await response.read())
        assert response.status == 200 and health["status"] == "degraded"
        assert health["parts"]["telegram"] == "error: Telegram refuses the token (401 Unauthorized)"
        assert health["parts"]["viber"] == "ok"
        logs = log_path.read_text()
        assert "telegram stopped: Telegram refuses the token (401 Unauthorized)" in logs
        assert "copy the bot's token from @BotFather into TELEGRAM_BOT_TOKEN" in logs
        assert not [c for c in fake_telegram.calls if c.method not in ("getMe",)]  # no webhook, no polling
    finally:
        assert await stop_mila(process) == 0
