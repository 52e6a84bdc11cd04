"""`mila nlu report` and `mila nlu test`: what the operator sees of the messages the bot did not understand, and the
score of a labelled file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import AppFactory
from tests.helpers import rs_identified, seeded


async def test_the_report_lists_the_most_frequent_misses_masked(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    for typed in ("xqzv plkj 0641234567", "xqzv plkj 0659999999", "plaćanje računa", "qqq www"):
        await chat.say(typed)
    monkeypatch.setenv("DATABASE_URL", app.settings.database.url)
    monkeypatch.setenv("MILA_PROFILE", "rs")
    assert await asyncio.to_thread(main, ["nlu", "report", "--days", "7"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("4 messages in 7 days (3 not understood), 3 different")
    first = out[2].split()
    assert first[:2] == ["2", "not_understood"] and out[2].endswith("xqzv plkj #")
    assert any("clarified" in line and line.endswith("plaćanje računa") for line in out)
    assert "0641234567" not in "\n".join(out)
    monkeypatch.setenv("MILA_PROFILE", "tm")  # another deployment's rows are not its report
    assert await asyncio.to_thread(main, ["nlu", "report"]) == 0
    assert capsys.readouterr().out.startswith("0 messages")
    assert await asyncio.to_thread(main, ["nlu", "report", "--days", "0"]) == 1


def test_the_test_command_scores_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "labelled.yaml"
    file.write_text(
        "services:\n  - ugasi mi gprs molim => svn:gprs:0\naccount:\n  - koliko ja to dugujem\n"
        "operator:\n  - ukljuci mi roming\nout_of_scope:\n  - ko je osvojio ligu sampiona\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MILA_PROFILE", "rs")
    assert main(["nlu", "test", str(file)]) == 0
    out = capsys.readouterr().out
    assert "messages: 4" in out and "routed right: 0.750" in out and "routed wrong: 0.250" in out
    assert "straight to the named step: 1.000 (1/1)" in out
    assert "'ukljuci mi roming': expected operator, routed to services" in out
    assert "operator → services: 1" in out
    file.write_text("services: gprs\n", encoding="utf-8")
    assert main(["nlu", "test", str(file)]) == 1
    assert main(["nlu", "test", str(tmp_path / "missing.yaml")]) == 1
