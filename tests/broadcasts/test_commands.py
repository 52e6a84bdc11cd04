"""`mila campaign …` as an operator types it: a file, its dry run, a test send to admins, and the steering."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.broadcasts.harness import Person, add_users_at, campaign_file
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
    code, out = await mila("campaign", "create", good, "--dry-run", env=env)
    assert code == 0, out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    for expected in ("telegram sr 3", "telegram sr-Cyrl 1", "viber tk 2", "total 6",
                     "Viber cost estimate: 2 messages × 0.05 EUR = 0.10 EUR"):  # fmt: skip
        assert expected in lines, out
    assert "created" not in out

    code, out = await mila("campaign", "create", good, env=env)
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
    assert code == 0 and "cancelled" in out and "6/6" in out and "Start" in out, out
