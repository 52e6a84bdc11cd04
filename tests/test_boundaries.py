"""Only the Telegram channel knows aiogram: the core, the services and the flows stay messenger-free."""

from __future__ import annotations

import re

from bot.config import PROJECT_ROOT

IMPORT = re.compile(r"^\s*(?:from|import)\s+(aiogram|viberbot)\b", re.MULTILINE)


def test_messenger_sdks_are_imported_only_by_their_channel() -> None:
    offenders = []
    for path in sorted([*(PROJECT_ROOT / "bot").rglob("*.py"), *(PROJECT_ROOT / "handlers").rglob("*.py")]):
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        for match in IMPORT.finditer(path.read_text()):
            sdk = match.group(1)
            home = {"aiogram": "bot/channels/telegram/", "viberbot": "bot/channels/viber/"}[sdk]
            if not relative.startswith(home):
                offenders.append(f"{relative} imports {sdk}")
    assert not offenders
