"""The console speaks the operator's language: Serbian (Latin) or Turkmen from the project's catalogs, English
(the msgids) otherwise. The translator of the request being served is a context variable, so the templates'
`_()`/`{% trans %}` and the page code's `_()` need no argument and requests served at once never mix."""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from pathlib import Path

from bot.core.i18n import DOMAIN, LANGUAGES

LANGUAGE_NAMES = {"sr": "Srpski", "tk": "Türkmençe", "en": "English"}
CONSOLE_LANGUAGES = tuple(LANGUAGE_NAMES)
_ENGLISH = gettext.NullTranslations()
_current: ContextVar[gettext.NullTranslations | None] = ContextVar("console_translations", default=None)


class Catalogs:
    def __init__(self, locales_dir: Path) -> None:
        self._by_code: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
        for code in ("sr", "tk"):
            mo = locales_dir / LANGUAGES[code].catalog / "LC_MESSAGES" / f"{DOMAIN}.mo"
            with mo.open("rb") as fh:
                self._by_code[code] = gettext.GNUTranslations(fh)

    def use(self, code: str) -> None:
        """Translate this request (this task) in `code` ("en" for any language the console does not speak)."""
        _current.set(self._by_code.get(code, self._by_code["en"]))


def choose(accept_language: str | None) -> str:
    """The first language of the browser's Accept-Language that the console speaks; English otherwise."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower()[:2]
        if code in ("sr", "bs", "hr"):
            code = "sr"
        if code in CONSOLE_LANGUAGES and quality > 0:
            ranked.append((-quality, i, code))
    return sorted(ranked)[0][2] if ranked else "en"


def _(message: str) -> str:
    return (_current.get() or _ENGLISH).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_current.get() or _ENGLISH).ngettext(singular, plural, n)
