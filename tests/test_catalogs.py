"""The translation catalogs are complete: every msgid of the code translated in Serbian and Turkmen, nothing fuzzy,
the same placeholders in the translation as in the msgid, and Turkmen letters (never Turkish ı or ğ)."""

from __future__ import annotations

import re

import pytest

from bot.config import PROJECT_ROOT
from bot.core.catalogs import read_catalog

LOCALES = PROJECT_ROOT / "locales"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.mark.parametrize("language", ["sr", "tk"])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    template = read_catalog(LOCALES / "messages.pot")
    catalog = read_catalog(LOCALES / language / "LC_MESSAGES" / "messages.po")
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        assert translated is not None, f"{language}: missing {message.id!r} (run `make locales`)"
        assert not translated.fuzzy, f"{language}: fuzzy {message.id!r}"
        strings = translated.string if isinstance(translated.string, tuple | list) else (translated.string,)
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        for string in strings:
            assert string, f"{language}: untranslated {message.id!r}"
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(ids[0])), (
                f"{language}: placeholders differ in {message.id!r}"
            )
            if language == "tk":
                assert not set(string) & set("ığİĞ"), f"tk: Turkish letters in {string!r}"
