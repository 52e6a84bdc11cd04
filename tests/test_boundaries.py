"""Only the Telegram channel knows aiogram, only the Viber channel viberbot: the core, the services and the flows stay
messenger-free. `lint-imports` (the contracts in pyproject.toml, run by `make test`) checks every module of the
packages; this checks the Python files it does not see, those outside a package (the Alembic migrations)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import PROJECT_ROOT

IMPORT = re.compile(r"^\s*(?:from|import)\s+(aiogram|viberbot)\b", re.MULTILINE)


def _outside_a_package(path: Path, top: Path) -> bool:
    return any(not (folder / "__init__.py").exists() for folder in [path.parent, *path.parent.parents] if
               folder.is_relative_to(top))  # fmt: skip


def test_messenger_sdks_are_imported_nowhere_lint_imports_does_not_look() -> None:
    unseen = [
        path
        for top in (PROJECT_ROOT / "bot", PROJECT_ROOT / "handlers")
        for path in sorted(top.rglob("*.py"))
        if _outside_a_package(path, top)
    ]
    assert unseen  # the migrations
    offenders = [
        f"{path.relative_to(PROJECT_ROOT).as_posix()} imports {match.group(1)}"
        for path in unseen
        for match in IMPORT.finditer(path.read_text())
    ]
    assert not offenders
