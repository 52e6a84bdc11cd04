"""The catalogs are product: every string in the code is translated in every language, with the same placeholders.

The msgids are extracted from the code here, in the test, so a string added without `make locales` fails too.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from bot.config import PROJECT_ROOT
from bot.core.catalogs import cyrillic_from_latin, read_catalog
from bot.core.i18n import I18n
from bot.core.text import latin_to_cyrillic

LOCALES = PROJECT_ROOT / "locales"
KEYWORDS = {"N_": None, "_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([^)]*\)[sd]|%[sd]")


def _code_msgids() -> set[str]:
    ids: set[str] = set()
    for folder in ("bot", "handlers"):
        # The web console's templates too (Jinja2's own extractor, as `make locales` runs it through babel.cfg).
        methods = [("**.py", "python"), ("console/templates/**.html", "jinja2")]
        for _file, _line, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT / folder, method_map=methods, keywords=KEYWORDS
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def _catalog(lang: str) -> Catalog:
    return read_catalog(LOCALES / lang / "LC_MESSAGES" / "messages.po")


def _texts(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's id or string as its forms: one for a plain message, one per plural form otherwise."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


CODE_MSGIDS = _code_msgids()


def test_the_code_has_strings_to_translate() -> None:
    assert len(CODE_MSGIDS) > 30
    assert "Please choose your language." in CODE_MSGIDS


@pytest.mark.parametrize("lang", ["sr", "tk"])
def test_every_string_of_the_code_is_translated(lang: str) -> None:
    catalog = _catalog(lang)
    missing = sorted(m for m in CODE_MSGIDS if catalog.get(m) is None)
    assert not missing, f"{lang}: not in the catalog (run `make locales` and translate): {missing}"
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)
    ]
    assert not untranslated, f"{lang}: untranslated or fuzzy: {untranslated}"


@pytest.mark.parametrize("lang", ["sr", "tk"])
def test_placeholders_match(lang: str) -> None:
    for message in _catalog(lang):
        if not message.id:
            continue
        ids = _texts(message.id)
        strings = _texts(message.string)
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert sorted(PLACEHOLDER.findall(string)) == expected, f"{lang}: {message.id!r} → {string!r}"


@pytest.mark.parametrize(("lang", "forms"), [("sr", 3), ("tk", 2)])
def test_plural_forms(lang: str, forms: int) -> None:
    catalog = _catalog(lang)
    assert catalog.num_plurals == forms
    for message in catalog:
        if isinstance(message.id, tuple):
            assert len(_texts(message.string)) == forms, f"{lang}: {message.id!r} needs {forms} forms"


def test_turkmen_is_turkmen_not_turkish() -> None:
    text = "".join(str(m.string) for m in _catalog("tk"))
    assert not set(text) & set("ıİğĞ"), "Turkish letters in the Turkmen catalog"
    assert set("äçňöşüý") <= set(text.lower())  # ž exists too, but only in loanwords


def test_serbian_latin_is_latin() -> None:
    text = "".join(str(m.string) for m in _catalog("sr"))
    assert not re.search("[\u0400-\u04ff]", text), "Cyrillic in the Latin catalog: Cyrillic is generated"


def test_cyrillic_catalog_is_generated_from_latin() -> None:
    latin = _catalog("sr")
    generated = read_catalog(LOCALES / "sr_Cyrl" / "LC_MESSAGES" / "messages.po")
    fresh = cyrillic_from_latin(latin)
    for message in latin:
        if message.id and isinstance(message.string, str):
            generated_message, fresh_message = generated.get(message.id), fresh.get(message.id)
            assert generated_message is not None and fresh_message is not None, message.id
            assert generated_message.string == latin_to_cyrillic(message.string)
            assert fresh_message.string == latin_to_cyrillic(message.string)


def test_plural_translation_picks_the_right_form(tmp_path: Path) -> None:
    i18n = I18n(LOCALES)
    sr = i18n.get("sr")
    # Serbian: 1 → one, 2–4 → few, 5+ (and 11–14) → other. Uses a real plural msgid if the code has one.
    plurals = [m for m in _catalog("sr") if isinstance(m.id, tuple)]
    assert plurals
    for message in plurals:
        singular, plural = _texts(message.id)
        one, few, other = _texts(message.string)
        assert sr.ngettext(singular, plural, 1) == one
        assert sr.ngettext(singular, plural, 3) == few
        assert sr.ngettext(singular, plural, 11) == other


@pytest.mark.parametrize(
    ("lang", "amount", "currency", "shown"),
    [
        ("sr", "2340.50", "RSD", "2.340,50 RSD"),
        ("sr-Cyrl", "2340.50", "RSD", "2.340,50 RSD"),
        ("tk", "2340.50", "TMT", "2 340,50 TMT"),
        ("sr", "0", "RSD", "0,00 RSD"),
        ("sr", "1234567.8", "RSD", "1.234.567,80 RSD"),
    ],
)
def test_amounts_are_formatted_for_the_language(lang: str, amount: str, currency: str, shown: str) -> None:
    assert I18n(LOCALES).get(lang).money(Decimal(amount), currency) == shown


def test_dates_are_formatted_for_the_language() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # already 23 November in Belgrade and Ashgabat
    i18n = I18n(LOCALES)
    assert i18n.get("sr").date(moment, ZoneInfo("Europe/Belgrade")) == "23. novembra 2026."  # the year's full stop
    assert i18n.get("sr-Cyrl").date(moment, ZoneInfo("Europe/Belgrade")) == "23. новембра 2026."
    assert i18n.get("tk").date(moment, ZoneInfo("Asia/Ashgabat")) == "23 noýabr 2026"


# --- Turkmen suffixes after numbers, lists of services, the Serbian date's full stop --------------------------------
# The spoken last word of a number decides its suffix's vowels (front: e ä i ö ü, back: a o u y): 6-njy (alty),
# 9-dan (dokuz), 10-dan (on), 08:00-de (sekiz). A placeholder can be any number, so no suffix may be glued to one.
_UNITS_BACK = {6, 9}  # alty, dokuz; bir, iki, üç, dört, bäş, ýedi, sekiz are front
_TENS_BACK = {1, 3, 4, 6, 9}  # on, otuz, kyrk, altmyş, togsan; ýigrimi, elli, ýetmiş, segsen are front
_NUMBER_SUFFIX = re.compile(r"(?<![\w.:/+])(\d+(?::\d\d)?)-([a-zäöüýňşçž]+)")
_PLACEHOLDER_SUFFIX = re.compile(r"\{[^{}]*\}-?[a-zäöüýňşçž]")


def _number_is_back(number: str) -> bool:
    hours, _, minutes = number.partition(":")
    n = int(minutes) if minutes and int(minutes) else int(hours)  # 08:00 is read "sekiz", 08:30 "otuz"
    if n == 0:
        return True  # nol
    if n % 10:
        return n % 10 in _UNITS_BACK
    if n % 100:
        return (n % 100) // 10 in _TENS_BACK
    return n % 10**6 == 0  # ýüz, müň are front; million is back


def _turkmen_texts() -> list[str]:
    """Every Turkmen string the bot can say: the catalog's and the profiles'."""
    import yaml

    texts = [s for m in _catalog("tk") if m.id for s in _texts(m.string)]

    def walk(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for k, v in node.items() for s in ([v] if k == "tk" and isinstance(v, str) else walk(v))]
        return [s for v in node for s in walk(v)] if isinstance(node, list) else []

    for profile in ("rs", "tm"):
        texts += walk(yaml.safe_load((PROJECT_ROOT / "bot" / "profiles" / f"{profile}.yaml").read_text("utf-8")))
    return texts


def test_turkmen_glues_no_suffix_to_a_placeholder() -> None:
    assert _PLACEHOLDER_SUFFIX.search("Siz nobatda {position}-nji.") and _PLACEHOLDER_SUFFIX.search("{time}-da")
    glued = [s for s in _turkmen_texts() if _PLACEHOLDER_SUFFIX.search(s)]
    assert not glued, f"a suffix after a placeholder fits only some numbers; word it without one: {glued}"


def test_turkmen_suffixes_after_numbers_follow_the_numbers_vowels() -> None:
    assert _number_is_back("6") and _number_is_back("10") and _number_is_back("90") and _number_is_back("09:30")
    assert not _number_is_back("1") and not _number_is_back("08:00") and not _number_is_back("20")
    wrong = []
    for text in _turkmen_texts():
        for number, suffix in _NUMBER_SUFFIX.findall(text):
            vowels = [c for c in suffix if c in "aouyeäiöü"]
            if vowels and (vowels[0] in "aouy") != _number_is_back(number):
                wrong.append(f"{number}-{suffix}")
    assert not wrong, wrong


@pytest.mark.parametrize("lang", ["sr", "tk"])
def test_a_list_of_services_agrees_in_number(lang: str) -> None:
    """ "Usluga MMS zavisi…" but "Usluge MMS i Internet paket zavise…": a message that names a list of services is
    a plural message (ngettext, counted by the list), and its one-service form is not its many-services form."""
    lists = [m for m in _catalog(lang) if m.id and re.search(r"\{(dependants|needed)\}", _texts(m.id)[0])]
    assert len(lists) >= 2
    for message in lists:
        assert isinstance(message.id, tuple), f"{message.id!r} names a list of services: use ngettext"
        one, *many = _texts(message.string)
        assert all(form != one for form in many), f"{lang}: {message.id!r} has one form for one and many"


def test_a_serbian_sentence_that_ends_with_a_date_adds_no_second_full_stop() -> None:
    date = "8. decembra 2026."  # the date carries the full stop of its year
    for message in _catalog("sr"):
        for string in _texts(message.string) if message.id else ():
            if "{date}" not in string and "{day}" not in string:
                continue
            values = {name.strip("{}"): "X" for name in PLACEHOLDER.findall(string)} | {"date": date, "day": date}
            rendered = string.format(**values)
            assert ".." not in rendered, rendered


# --- one word for one thing ------------------------------------------------------------------------------------------
def test_serbian_writes_the_polite_pronoun_one_way_and_the_contact_centre_as_a_name() -> None:
    for message in _catalog("sr"):
        for string in _texts(message.string) if message.id else ():
            assert not re.search(r"(?<=[\w,(] )V(i|as|am|aš\w*)\b|\(Vaš", string), (
                f"vi/vas/vam/vaš in lower case: {string}"
            )
            assert not re.search(r"\bkontakt cent", string), f"the name is „Kontakt centar“: {string}"
            assert not re.search(r"\btarif(a|nom planu|ni plan)\b", string), f"the tariff is „tarifni paket“: {string}"


def test_turkmen_uses_the_documents_words() -> None:
    """Siz capitalised, "identifikasiýa", "şäher telefony", "habar" for a message in the chat, one main menu, the
    help desk named by the profile and not by a word of the catalog, buttons that are buttons."""
    unwanted = {
        r"\bsiz(e|i|iň|iňki|den|de)?\b": "Siz capitalised",
        r"\btanal|\btanady": "identifikasiýa",
        r"\bkesgitli\b": "şäher telefony",
        r"\bhat(y|a|lar)": "habar",
        r"Baş menýu": "Esasy menýu",
        r"(?i)kontakt merkez|habarlaşmak merkez": "the profile's name of its help desk",
        r"(?i)görnüşi saýla|görnüşlerden": "düwme",
        r"birwagtlaýyn": "bir gezeklik",
        r"blokirle": "bloklady",
    }
    for message in _catalog("tk"):
        for string in _texts(message.string) if message.id else ():
            for pattern, wanted in unwanted.items():
                assert not re.search(pattern, string), f"{wanted}: {string}"
