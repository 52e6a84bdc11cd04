"""Languages, gettext catalogs and locale-aware formatting.

UI strings live in gettext catalogs (English msgids). Serbian is kept by hand in Latin script, the way the operator
writes; the Cyrillic catalog is generated from it at build time (`bot.core.catalogs`), so there is one catalog to
maintain. Operator content (profiles) is localized per language in data files and goes through `content()`.
"""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.core.text import latin_to_cyrillic

DOMAIN = "messages"


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # what we store and show in payloads: "sr", "sr-Cyrl", "tk"
    catalog: str  # directory under locales/
    babel_locale: str  # CLDR locale for numbers and dates
    native_name: str  # how the language calls itself, on its button
    content_key: str  # which text of a localized profile field it reads
    cyrillic: bool = False


LANGUAGES: dict[str, Language] = {
    "sr": Language("sr", "sr", "sr_Latn", "Srpski (latinica)", "sr"),
    "sr-Cyrl": Language("sr-Cyrl", "sr_Cyrl", "sr_Cyrl", "Српски (ћирилица)", "sr", cyrillic=True),
    "tk": Language("tk", "tk", "tk", "Türkmençe", "tk"),
}

_SERBIAN_MONTHS_GENITIVE = ("januara", "februara", "marta", "aprila", "maja", "juna", "jula", "avgusta", "septembra",
                            "oktobra", "novembra", "decembra")  # fmt: skip

# Messenger language codes (Telegram `language_code`, Viber `user.language`) → ours.
_HINTS = {"sr": "sr", "sr-latn": "sr", "sr-cyrl": "sr-Cyrl", "sr-rs": "sr", "bs": "sr", "hr": "sr", "me": "sr",
          "cnr": "sr", "tk": "tk", "tk-tm": "tk"}  # fmt: skip


def language_from_hint(hint: str | None, offered: list[str]) -> str | None:
    """Pre-select a language from what the messenger reports, among those the profile offers."""
    if not hint:
        return None
    code = _HINTS.get(hint.strip().lower().replace("_", "-")) or _HINTS.get(hint.strip().lower()[:2])
    return code if code in offered else None


class CatalogMissing(RuntimeError):
    pass


class Translator:
    """Everything a turn needs to speak one language."""

    def __init__(self, language: Language, translations: gettext.GNUTranslations) -> None:
        self.language = language
        self._t = translations

    @property
    def code(self) -> str:
        return self.language.code

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._t.pgettext(context, message)

    def content(self, localized: dict[str, str]) -> str:
        """Pick the profile's text for this language (Cyrillic is transliterated from the Latin text)."""
        return self.script(localized[self.language.content_key])

    def script(self, text: str) -> str:
        """A name or other data written in Latin, in this language's script."""
        return latin_to_cyrillic(text) if self.language.cyrillic else text

    def with_name(self, name: str) -> str:
        """A name after "with": Serbian declines it ("čet sa Milom"), a feminine name in -a takes -om; other languages
        keep it as it is ("Mila bilen çat")."""
        if self.language.content_key == "sr" and len(name) > 1 and name.endswith("a"):
            name = name[:-1] + "om"
        return self.script(name)

    def money(self, amount: Decimal, currency: str) -> str:
        """`2.340,50 RSD` in Serbian, `2 340,50 TMT` in Turkmen: always two decimals and the ISO code."""
        return format_currency(
            amount,
            currency,
            format="#,##0.00\u00a0¤¤",
            currency_digits=False,
            locale=self.language.babel_locale,
        ).replace("\u00a0", " ")

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.language.babel_locale).replace("\u00a0", " ")

    def date(self, value: dt.date | dt.datetime, tz: ZoneInfo) -> str:
        """`27. novembra 2026.`, `27. новембра 2026.`, `27 noýabr 2026`: a Serbian date ends with the full stop of
        its year, so a Serbian sentence that ends with a date adds none of its own ("uključiti {date}")."""
        if isinstance(value, dt.datetime):
            value = value.astimezone(tz).date()
        if self.language.content_key == "sr":
            # CLDR has only the nominative ("27. novembar 2026."); a Serbian date puts the month in the genitive.
            return self.script(f"{value.day}. {_SERBIAN_MONTHS_GENITIVE[value.month - 1]} {value.year}.")
        return format_date(value, format="long", locale=self.language.babel_locale)

    def month(self, year: int, month: int) -> str:
        """A month billed, as a name: `novembar 2026`, `новембар 2026`, `noýabr 2026`."""
        name = format_date(dt.date(year, month, 1), format="LLLL y", locale=self.language.babel_locale)
        name = name[:1].lower() + name[1:]  # inside a sentence, as both languages write months
        return self.script(name) if self.language.content_key == "sr" else name

    def datetime(self, value: dt.datetime, tz: ZoneInfo) -> str:
        """The language's own long date and the time: `29. novembra 2026. 19:58`, `30 noýabr 2026 00:58`."""
        local = value.astimezone(tz)
        return f"{self.date(local, tz)} {local.strftime('%H:%M')}"

    def time(self, value: dt.datetime, tz: ZoneInfo) -> str:
        return value.astimezone(tz).strftime("%H:%M")


class I18n:
    """Loads the compiled catalogs once; hands out a `Translator` per language code."""

    def __init__(self, locales_dir: Path, languages: list[str] | None = None) -> None:
        self._translators: dict[str, Translator] = {}
        for code in languages or list(LANGUAGES):
            language = LANGUAGES[code]
            mo = locales_dir / language.catalog / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if not mo.exists():
                raise CatalogMissing(f"{mo} is missing: run `make locales-compile` (or `make demo`/`make test`)")
            with mo.open("rb") as fh:
                self._translators[code] = Translator(language, gettext.GNUTranslations(fh))

    def get(self, code: str | None) -> Translator:
        if code is not None and code in self._translators:
            return self._translators[code]
        return next(iter(self._translators.values()))

    @property
    def codes(self) -> list[str]:
        return list(self._translators)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; it is translated when a turn renders it."""
    return message
