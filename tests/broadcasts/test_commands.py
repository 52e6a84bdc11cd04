"""`mila campaign …` as an operator types it: a file, its dry run, a test send to admins, and the steering."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.db.base import utcnow
from bot.db.models import Account, CampaignDelivery, DeliveryStatus, Subscriber
from bot.profiles import PROFILE_DIR
from tests.broadcasts.harness import CYRILLIC, Person, add_users_at, campaign_file
from tests.broadcasts.service import cli_env, mila
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi
from tests.viber.conftest import BOT_NAME
from tests.viber.conftest import TOKEN as VIBER_TOKEN


def write(tmp_path: Path, name: str, raw: dict[str, object]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


async def test_create_dry_run_test_send_and_steer_a_campaign(
    sqlite_url: str, redis_prefix: str, tmp_path: Path, fake_telegram: FakeTelegram, viber_api: FakeViberApi
) -> None:
    await add_users_at(sqlite_url, [
        Person("telegram", "8001"), Person("telegram", "8002"), Person("telegram", "8003"),
        Person("telegram", "8004", "sr-Cyrl"), Person("viber", "vbA01==", "tk"), Person("viber", "vbB01==", "tk"),
        Person("telegram", "8005", consent=False),
    ])  # fmt: skip
    admin = fake_telegram.user(8100)
    env = cli_env(
        sqlite_url, redis_prefix, VIBER_MESSAGE_PRICE="0.05", VIBER_PRICE_CURRENCY="EUR",
        TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_BASE=fake_telegram.base_url,
        VIBER_AUTH_TOKEN=VIBER_TOKEN, VIBER_API_BASE=viber_api.url, VIBER_BOT_NAME=BOT_NAME,
    )  # fmt: skip

    bad = write(tmp_path, "bad.yaml", campaign_file(text={"sr": "x", "de": "y"}))
    code, out = await mila("campaign", "create", bad, env=env)
    assert code == 1 and "text: text in 'de': write sr and tk" in out, out
    code, out = await mila("campaign", "create", write(tmp_path, "tm.yaml", campaign_file(profile="tm")), env=env)
    assert code == 1 and "the campaign is for profile 'tm'; this is 'rs'" in out, out

    good = write(tmp_path, "start.yaml", campaign_file())
    by_path = env | {"MILA_PROFILE": str(PROFILE_DIR / "rs.yaml")}  # the same profile, named by its file
    code, out = await mila("campaign", "create", good, "--dry-run", env=by_path)
    assert code == 0 and "total 6" in " ".join(out.split()), out
    code, out = await mila("campaign", "create", good, "--dry-run", env=env)
    assert code == 0, out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    for expected in ("telegram sr 3", "telegram sr-Cyrl 1", "viber tk 2", "total 6",
                     "Viber cost estimate: 2 messages × 0.05 EUR = 0.10 EUR"):  # fmt: skip
        assert expected in lines, out
    assert "created" not in out

    code, out = await mila("campaign", "create", good, env=by_path)
    assert code == 0 and "campaign 1 created (draft)" in out, out

    code, out = await mila("campaign", "test", "1", "--to", f"telegram:{admin.id}", "--to", "viber:vbAdmin01==",
                           "--lang", "sr-Cyrl", env=env)  # fmt: skip
    assert code == 0, out
    assert f"telegram:{admin.id} (sr-Cyrl): sent" in out and "viber:vbAdmin01== (sr-Cyrl): sent" in out, out
    (news,) = fake_telegram.bot_messages(admin)
    assert news["text"].startswith("Нова тарифа Старт")
    assert viber_api.messages("vbAdmin01==")[0]["text"].startswith("Нова тарифа Старт")

    code, out = await mila("campaign", "pause", "1", env=env)
    assert code == 1 and "campaign 1 is draft: cannot pause it" in out, out
    code, out = await mila("campaign", "send", "1", "--detach", env=env)
    assert code == 0 and "campaign 1: 6 recipients selected" in out, out
    code, out = await mila("campaign", "pause", "1", env=env)
    assert code == 0 and "campaign 1: paused" in out, out
    code, out = await mila("campaign", "cancel", "1", env=env)
    assert code == 0 and "campaign 1: cancelled" in out, out

    code, out = await mila("campaign", "show", "1", env=env)
    assert code == 0, out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "status cancelled" in out and "recipients 6" in lines and "skipped 6" in lines, out
    assert "test sent 20" in out  # the time of the test send
    code, out = await mila("campaign", "list", env=env)
    assert code == 0 and "cancelled" in out and "0/6" in out and "Start" in out, out  # sent / recipients


async def mila_apart(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """`mila …` with its exit code, stdout and stderr apart."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 90.0)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def squeezed(out: str) -> list[str]:
    return [" ".join(line.split()) for line in out.splitlines()]


async def test_errors_are_lines_on_stderr_never_a_traceback(sqlite_url: str, redis_prefix: str, tmp_path: Path) -> None:
    env = cli_env(sqlite_url, redis_prefix)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Start\nprofile: rs\ntext: {sr: x}\nquiet_hours: 22:00\npicture: http://x\n"
                   "button: {url: mts.rs, label: {sr: Više}}\nsegment: {chanels: [viber]}\n",
                   encoding="utf-8")  # fmt: skip
    code, out, err = await mila_apart("campaign", "create", str(bad), "--dry-run", env=env)
    assert code == 1 and out == "" and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 4 and all(line.startswith("mila: ") for line in lines), err
    assert "mila: segment.chanels: unknown field (allowed: channels, languages, identified, account_kinds, " \
        "tariffs, active_days)" in lines, err  # fmt: skip
    assert any(line.startswith("mila: quiet_hours: put it in quotes") for line in lines), err

    for args in (("create", str(tmp_path / "missing.yaml")), ("create", write(tmp_path, "tm.yaml", campaign_file(
            profile="tm"))), ("show", "99"), ("pause", "99"), ("send", "99", "--detach")):  # fmt: skip
        code, out, err = await mila_apart("campaign", *args, env=env)
        assert code == 1 and out == "" and err.startswith("mila: ") and err.count("\n") == 1, (args, out, err)
    code, out, err = await mila_apart("campaign", "show", "99", env=env)
    assert err == "mila: no campaign 99\n"


async def test_the_dry_run_warns_of_what_marketing_most_likely_did_not_mean(
    sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    engine = create_async_engine(sqlite_url)
    async with async_sessionmaker(engine)() as db, db.begin():
        petar = Subscriber(customer_code="1234567", full_name="Petar Petrović")
        petar.accounts = [Account(number="1234567/1", kind="mobile", currency="RSD", tariff="Postpaid S")]
        db.add(petar)
    await engine.dispose()
    await add_users_at(sqlite_url, [Person("viber", "vbA01==", "tk"), Person("telegram", "8001")])
    env = cli_env(sqlite_url, redis_prefix)
    past = (utcnow() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    raw = campaign_file(text={"tk": "Täze Start tarifi"}, start=past, segment={"tariffs": ["postpaid s", "Gold"]})
    code, out, err = await mila_apart("campaign", "create", write(tmp_path, "c.yaml", raw), "--dry-run", env=env)
    assert code == 0, err
    assert "Viber cost estimate: 0 messages × price not set (VIBER_MESSAGE_PRICE)" in out, out
    warnings = err.splitlines()
    assert "warning: no text in sr: the readers of sr, sr-Cyrl get nothing" in warnings, err
    assert any(w.startswith("warning: start ") and w.endswith(
        "is in the past: the campaign goes out as soon as it is sent") for w in warnings), err  # fmt: skip
    assert "warning: segment.tariffs: no account has the tariff 'postpaid s' (did you mean 'Postpaid S'? tariffs " \
        "are matched exactly)" in warnings, err  # fmt: skip
    assert "warning: segment.tariffs: no account has the tariff 'Gold'" in warnings, err

    env = cli_env(sqlite_url, redis_prefix, VIBER_MESSAGE_PRICE="0.0312", VIBER_PRICE_CURRENCY="EUR")
    code, out, err = await mila_apart("campaign", "create", write(tmp_path, "d.yaml", campaign_file()), "--dry-run",
                                      env=env)  # fmt: skip
    assert code == 0 and err == "", err
    assert "Viber cost estimate: 1 message × 0.0312 EUR = 0.0312 EUR" in out, out


async def test_the_same_file_twice_needs_force_and_show_prints_the_message(
    sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    await add_users_at(sqlite_url, [Person("telegram", "8001"), Person("telegram", "8002", "sr-Cyrl")])
    env = cli_env(sqlite_url, redis_prefix)
    start = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    good = write(tmp_path, "start.yaml", campaign_file(
        start=start, quiet_hours="21:00-09:00", picture="https://static.example.com/start.jpg",
        button={"url": "https://mts.rs/start", "label": {"sr": "Saznaj više", "tk": "Giňişleýin"}},
    ))  # fmt: skip
    code, out, err = await mila_apart("campaign", "create", good, env=env)
    assert code == 0 and "campaign 1 created" in out, err
    code, out, err = await mila_apart("campaign", "create", good, env=env)
    assert code == 1 and err == "mila: a campaign named 'Start' exists: 1 (draft); to create another one anyway, " \
        "add --force\n", err  # fmt: skip
    code, out, err = await mila_apart("campaign", "create", good, "--dry-run", env=env)
    assert code == 0 and "warning: a campaign named 'Start' exists: 1 (draft)" in err, err
    code, out, err = await mila_apart("campaign", "create", good, "--force", env=env)
    assert code == 0 and "campaign 2 created" in out, err
    code, out, err = await mila_apart("campaign", "cancel", "2", "--profile", "rs", env=env)
    assert code == 0, err

    code, out, err = await mila_apart("campaign", "send", "1", "--detach", env=env)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "campaign 1: 2 recipients selected", out
    assert lines[1] == f"campaign 1: waiting for start at {start} (Europe/Belgrade)", out
    assert "Ctrl-C stops following, not the sending" in lines[2], out

    engine = create_async_engine(sqlite_url)
    async with async_sessionmaker(engine)() as db, db.begin():
        await db.execute(update(CampaignDelivery).where(CampaignDelivery.id == 1)
                         .values(status=DeliveryStatus.SENDING.value))  # fmt: skip
    await engine.dispose()
    code, out, err = await mila_apart("campaign", "show", "1", env=env)
    assert code == 0, err
    lines = squeezed(out)
    for expected in ("[sr] Nova tarifa Start: 20 GB za 990 dinara mesečno.", f"[sr-Cyrl] {CYRILLIC}",
                     "[tk] Täze Start tarifi: aýda 20 GB.", "button 'Сазнај више' → https://mts.rs/start",
                     "picture https://static.example.com/start.jpg", "being sent 1", "pending 1",
                     "recipients per channel and language:"):  # fmt: skip
        assert expected in lines, out
    assert "quiet hours 21:00-09:00" in out and f"starts {start}" in out, out
    counts = [line for line in out.splitlines() if line.startswith("    ") and line.rstrip()[-1].isdigit()]
    assert len({len(line) for line in counts[: len(DeliveryStatus)]}) == 1, out  # one column of numbers

    code, out, err = await mila_apart("campaign", "cancel", "1", env=env)
    code, out, err = await mila_apart("campaign", "show", "1", env=env)
    assert "unknown (was being sent when a worker stopped) 1" in squeezed(out), out
    code, out, err = await mila_apart("campaign", "list", env=env)
    assert "sent/recipients" in out and "0/2" in out, out


async def test_a_test_send_that_reached_nobody_is_not_recorded(
    sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = cli_env(sqlite_url, redis_prefix)
    code, out, err = await mila_apart("campaign", "create", write(tmp_path, "c.yaml", campaign_file()), env=env)
    assert code == 0, err
    code, out, err = await mila_apart("campaign", "test", "1", "--to", "telegram:8100", "--lang", "en", env=env)
    assert code == 1 and err == "mila: --lang en: use one of the profile's languages (sr, sr-Cyrl, tk)\n", err
    code, out, err = await mila_apart("campaign", "test", "1", "--to", "telegram:8100", "--to", "viber:vb==",
                                      env=env)  # fmt: skip
    assert code == 1, out + err
    assert "telegram:8100: the telegram channel is not configured (set TELEGRAM_BOT_TOKEN)" in out, out
    assert "viber:vb==: the viber channel is not configured (set VIBER_AUTH_TOKEN)" in out, out
    code, out, err = await mila_apart("campaign", "show", "1", env=env)
    assert "test sent -;" in out, out


async def test_help_describes_the_arguments_and_refuses_a_negative_limit(sqlite_url: str, redis_prefix: str) -> None:
    env = cli_env(sqlite_url, redis_prefix)
    code, out, _ = await mila_apart("campaign", "--help", env=env)
    assert code == 0 and "which do the sending" in " ".join(out.split()), out
    code, out, _ = await mila_apart("campaign", "cancel", "--help", env=env)
    assert "--profile" in out and "cannot be undone" in out and "the campaign's number" in out, out
    code, out, _ = await mila_apart("campaign", "send", "--help", env=env)
    assert "Ctrl-C only stops following" in " ".join(out.split()), out
    code, out, _ = await mila_apart("campaign", "create", "--help", env=env)
    assert "the campaign file: .yaml, .yml or .toml" in " ".join(out.split()), out
    code, out, err = await mila_apart("tickets", "list", "--limit", "-1", env=env)
    assert code == 2 and "-1 is negative" in err, err
