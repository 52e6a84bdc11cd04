"""The things a typed sentence names, so a flow can skip the questions already answered.

"ugasite mi gprs" names the GPRS service and "off"; "suspenzija na dve nedelje" 14 days; "predračun na 1500
dinara" an amount. Everything is read from the `fold`ed text: case, diacritics and script don't matter, and words
match with another ending (`bot.core.keywords.same_word`), as Serbian and Turkmen inflect by endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from bot.core.amounts import amounts_in_sentence
from bot.core.keywords import MIN_PREFIX, has_run, words_of
from bot.core.text import digraph_fold, fold
from bot.profiles import Profile

# Stems of "turn on" / "turn off" in both languages, folded (a typed word starting with one of them).
ON_STEMS = ("uklju", "aktiv", "pust", "upal", "omogu", "otvor", "vrat", "birikdir", "birikdr", "islet", "yak",
            "gos", "ac")  # fmt: skip
OFF_STEMS = ("isklju", "ugas", "gas", "deaktiv", "odjav", "zabran", "ukin", "blokir", "ocur", "ocir", "ayyr",
             "aýyr", "yap", "gerek dal")  # fmt: skip
_NOT_WORDS = ("ne", "nemoj", "nemojte")  # "ne uključujte" is not "on"

SR_NUMBERS = {
    "jedan": 1, "jednu": 1, "jedna": 1, "jedno": 1, "dva": 2, "dve": 2, "dvije": 2, "tri": 3, "cetiri": 4,
    "pet": 5, "sest": 6, "sedam": 7, "osam": 8, "devet": 9, "deset": 10, "petnaest": 15, "dvadeset": 20,
    "trideset": 30,
}  # fmt: skip
TK_NUMBERS = {
    "bir": 1, "iki": 2, "uc": 3, "dort": 4, "bas": 5, "alty": 6, "yedi": 7, "sekiz": 8, "dokuz": 9, "on": 10,
    "yigrimi": 20, "otuz": 30,
}  # fmt: skip
NUMBER_WORDS = {**SR_NUMBERS, **TK_NUMBERS}
# A unit of time → days; matched as the start of a folded word ("nedelje", "nedelju", "hepdelik", "aýlyk").
UNIT_DAYS = (("nedelj", 7), ("sedmic", 7), ("hepde", 7), ("mesec", 30), ("ay", 30), ("dan", 1), ("gun", 1),
             ("gün", 1))  # fmt: skip

CURRENCY_STEMS = ("din", "rsd", "manat", "tmt")

LANGUAGE_NAMES = {
    "sr": ("srpski", "srpskom", "srpsku", "serbski", "serbce", "serb dili", "serb dilinde", "latinica",
           "latinici"),
    "sr-Cyrl": ("cirilica", "cirilicom", "cirilici"),
    "tk": ("turkmenski", "turkmenskom", "turkmenskog", "turkmence", "turkmen dili", "turkmen dilinde"),
}  # fmt: skip

_PHONE = re.compile(r"(?<![\w/])(\+?\d[\d \-]{7,16}\d)(?![\w/])")
_ACCOUNT = re.compile(r"(?<![\w/])(\d{4,10}/\d{1,3})(?![\w/])")
_REFERENCE = re.compile(r"(?<![\w])r[ -]?(\d{8})(?!\w)")
_NOT_DIGIT = re.compile(r"\D")
_CODE = re.compile(r"(?<![\w/+])(\d{6,12})(?![\w/])")


@dataclass(frozen=True, slots=True)
class Entities:
    service: str | None = None  # a service code of the profile's catalogue
    on: bool | None = None  # True: turn on, False: turn off
    account: str | None = None  # an account number "1234567/1" or a customer code
    phone: str | None = None
    amount: Decimal | None = None
    days: int | None = None
    reference: str | None = None  # "R-12345678"
    language: str | None = None  # a language code the text names
    found: tuple[str, ...] = field(default=())  # the names of what was found, for the report

    def __bool__(self) -> bool:
        return bool(self.found)


class ServiceNames:
    """Every way the profile's catalogue names a service: its name in every language, the parts of a name
    ("AntiAON (zabrana prikaza broja)" → "AntiAON", "zabrana prikaza broja"), and the profile's synonyms."""

    def __init__(self, profile: Profile) -> None:
        names: list[tuple[list[str], str]] = []
        for service in profile.services:
            variants = [*service.name.values(), *service.synonyms]
            for variant in variants:
                for part in {variant, *re.split(r"[()/]", variant)}:
                    words = words_of(digraph_fold(fold(part)))
                    if words:
                        names.append((words, service.code))
        # Longest names first: "SMS paketi" is a service of its own, not "SMS".
        self.names = sorted(names, key=lambda item: (-len(item[0]), -sum(map(len, item[0]))))
        # The names by the key of their first word, each with its place in `names`: only a name whose first word
        # shares its key with a typed word can stand in a sentence (see `_key`).
        self.by_first: dict[str, list[int]] = {}
        for place, (name, _code) in enumerate(self.names):
            self.by_first.setdefault(_key(name[0]), []).append(place)

    def find(self, words: list[str]) -> str | None:
        """The code of the first name (longest first) that stands in `words`, else None."""
        places = sorted({place for word in words for place in self.by_first.get(_key(word), ())})
        for place in places:
            name, code = self.names[place]
            if has_run(words, name):
                return code
        return None


def _key(word: str) -> str:
    """What two words `same_word` takes for one always share: a word shorter than `MIN_PREFIX` matches only itself;
    a longer one matches only words that start with its first `MIN_PREFIX` letters (its prefix, or a stem of at least
    `MIN_STEM` letters)."""
    return word if len(word) < MIN_PREFIX else word[:MIN_PREFIX]


def _switch(words: list[str], folded: str) -> bool | None:
    off = any(w.startswith(OFF_STEMS) for w in words) or "gerek dal" in folded
    on_at = [i for i, w in enumerate(words) if w.startswith(ON_STEMS) and (len(w) > 2 or w == "ac")]
    if on_at and not off:
        negated = all(i > 0 and words[i - 1] in _NOT_WORDS for i in on_at)  # "ne uključujte", not "ne radi, uključite"
        return not negated
    if off and not on_at:
        return False
    return None


def _days(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        unit = next((days for stem, days in UNIT_DAYS if word.startswith(stem)), None)
        if unit is None or (word.startswith("ay") and len(word) > 5):
            continue
        count = 1
        if i > 0:
            before = words[i - 1]
            if before.isdigit():
                count = int(before)
            elif before in NUMBER_WORDS:
                count = NUMBER_WORDS[before]
                if i > 1 and words[i - 2] in NUMBER_WORDS and NUMBER_WORDS[words[i - 2]] >= 10:
                    count += NUMBER_WORDS[words[i - 2]]  # "on dört gün"
            elif unit == 1:
                continue  # "dan" alone is a word ("danas", "dana") without a number: not a period
        if 0 < count * unit <= 366:
            return count * unit
    return None


# A language's names, each at the start of a word ("srpskom", "turkmen dilinde"): one pattern per language.
_LANGUAGE_PATTERNS = tuple(
    (code, re.compile(r"\b(?:" + "|".join(re.escape(name) for name in names) + ")"))
    for code, names in LANGUAGE_NAMES.items()
)


def _language(folded: str) -> str | None:
    for code, pattern in _LANGUAGE_PATTERNS:
        if pattern.search(folded):
            return code
    return None


def find_entities(text: str, services: ServiceNames) -> Entities:
    """What `text` names, each kind at most once (the first)."""
    raw = fold(text)
    folded = digraph_fold(raw)
    words = words_of(folded)
    found: dict[str, object] = {}
    if service := services.find(words):
        found["service"] = service
    if (on := _switch(words, folded)) is not None:
        found["on"] = on
    if m := _REFERENCE.search(raw):
        found["reference"] = "R-" + m.group(1)
    if m := _ACCOUNT.search(raw):
        found["account"] = m.group(1)
    for m in _PHONE.finditer(raw):
        digits = _NOT_DIGIT.sub("", m.group(1))
        if (m.group(1).startswith(("+", "0", "8")) or len(digits) >= 11) and 8 <= len(digits) <= 15:
            found["phone"] = ("+" if m.group(1).startswith("+") else "") + digits
            break
    if "account" not in found and "phone" not in found and "reference" not in found and (m := _CODE.search(raw)):
        found["account"] = m.group(1)
    days = _days(words)
    if days is not None:
        found["days"] = days
    numbered = "phone" in found or "account" in found or "reference" in found
    with_currency = any(w.startswith(CURRENCY_STEMS) for w in words)
    if not numbered and (days is None or with_currency) and (amounts := amounts_in_sentence(raw)):
        found["amount"] = amounts[0]
    if language := _language(folded):
        found["language"] = language
    return Entities(**found, found=tuple(found))  # type: ignore[arg-type]
