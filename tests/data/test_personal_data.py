"""Code words, names and passports are compared the way people write them; nothing is kept in the clear."""

from __future__ import annotations

import base64
import hashlib

import pytest

from bot.services.personal_data import (
    BadPhone,
    hash_code_word,
    is_current_hash,
    lookup_hash,
    mask_phone,
    normalize_phone,
    passport_hash,
    passport_matches,
    phone_hash,
    same_name,
    verify_code_word,
)

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Šljiva", "šljiva"),
        ("Šljiva", "ШЉИВА"),  # Serbian Cyrillic of the same word
        ("Šljiva", "sljiva"),  # typed without its letters
        ("Šljiva", "shljiva"),
        ("Džungla", "џунгла"),
        ("  Moja   reč ", "moja rec"),
    ],
)
def test_serbian_code_word_in_either_script_and_without_diacritics(stored: str, typed: str) -> None:
    hashed = hash_code_word(stored)
    assert stored.strip() not in hashed and "ljiva" not in hashed
    assert verify_code_word(typed, hashed, serbian=True)


@pytest.mark.parametrize(
    ("stored", "typed", "matches"),
    [
        ("Gülälek", "GÜLÄLEK", True),
        ("Gülälek", "gulalek", True),  # ä and ü typed as a and u
        ("Şatlyk", "şatlyk", True),
        ("Şatlyk", "shatlyk", True),  # sh for ş
        ("Şatlyk", "Satlyk", True),
        ("Ýyldyz", "yyldyz", True),
        ("Ýaňy gün", "yany gun", True),
        ("Ýaňy gün", "Ýaňygün", False),  # two words are not one
        ("Köpetdag", "Kopetdag", True),
        ("Aýnabat", "Ay\u0301nabat", True),  # y + combining acute, the same letter after NFC
        ("Gülälek", "Gülälik", False),
        ("Ýyldyz", "ýyldyzlar", False),
    ],
)
def test_turkmen_code_word_as_typed_on_a_phone(stored: str, typed: str, matches: bool) -> None:
    assert verify_code_word(typed, hash_code_word(stored), serbian=False) is matches


def test_the_hash_is_one_way_of_the_folded_word() -> None:
    hashed = hash_code_word("Ýaňy gün")
    assert hashed.startswith("scrypt-f$") and is_current_hash(hashed)
    assert "yany" not in hashed and "gun" not in hashed


def test_a_hash_made_before_folding_still_checks_the_letters() -> None:
    """An import made before folding stored the word with its letters (scheme `scrypt`); it keeps working, with the
    letters, until the next import rewrites it folded."""
    salt = b"s" * 16
    digest = hashlib.scrypt("gülälek".encode(), salt=salt, n=2**14, r=8, p=1, maxmem=256 * 1024 * 1024, dklen=32)
    b64 = lambda data: base64.b64encode(data).decode().rstrip("=")  # noqa: E731
    legacy = "$".join(("scrypt", str(2**14), "8", "1", b64(salt), b64(digest)))
    assert verify_code_word("Gülälek", legacy, serbian=False) and not is_current_hash(legacy)
    assert not verify_code_word("gulalek", legacy, serbian=False)


def test_each_hash_has_its_own_salt_and_bad_hashes_never_match() -> None:
    first, second = hash_code_word("lozinka"), hash_code_word("lozinka")
    assert first != second
    assert not verify_code_word("lozinka", None, serbian=True)
    assert not verify_code_word("lozinka", "plain", serbian=True)
    assert not verify_code_word("lozinka", "scrypt-f$x$8$1$salt$hash", serbian=True)
    assert not verify_code_word("lozinke", first, serbian=True)


@pytest.mark.parametrize(
    ("stored", "typed", "matches"),
    [
        ("Petar Petrović", "ПЕТАР  ПЕТРОВИЋ", True),
        ("Petar Petrović", "petar petrovic", True),
        ("Petar Petrović", "Petrović Petar", True),  # surname first, as in the passport
        ("Aýna Öwezowa", "aýna öwezowa", True),
        ("Aýna Öwezowa", "Ayna Owezowa", True),
        ("Serdar Şamyradow", "Serdar Shamyradow", True),
        ("Žemal Täçmämmedowa", "Zhemal Tachmammedowa", True),
        # F.A.Aa.: surname, name, father's name — with or without the father's name, in either order
        ("Öwezowa Aýna Myradowna", "Aýna Öwezowa", True),
        ("Öwezowa Aýna Myradowna", "owezowa ayna myradowna", True),
        ("Öwezowa Aýna Myradowna", "Ayna Myradowna Owezowa", True),
        ("Öwezowa Aýna Myradowna", "Aýna", False),  # a name alone is not the full name
        ("Öwezowa Aýna Myradowna", "Aýna Myradowna", False),  # without the surname
        ("Aýna Öwezowa", "Aýna", False),
        ("Aýna Öwezowa", "Aýna Öwezowa Myradowna", False),  # a part the record does not have
        ("Petar Petrović", "Marko Petrović", False),
        ("", "", False),
    ],
)
def test_full_names_as_people_say_them(stored: str, typed: str, matches: bool) -> None:
    assert same_name(typed, stored) is matches


def test_passports_as_typed() -> None:
    stored = passport_hash(KEY, "I-AŞ 123456")
    for typed in ("I-AŞ 123456", "i as 123456", "IAS123456", "i-ash 123456", "ı-aş123456"):
        assert passport_matches(KEY, typed, stored, serbian=False), typed
    assert not passport_matches(KEY, "I-AŞ 123457", stored, serbian=False)
    assert not passport_matches(KEY, "I-AŞ 123456", None, serbian=False)
    # A passport imported before folding kept its letters: it still matches as typed with them.
    legacy = lookup_hash(KEY, "passport", "iaş123456")
    assert passport_matches(KEY, "I-AŞ 123456", legacy, serbian=False)


def test_phone_and_passport_hashes_are_keyed() -> None:
    e164 = normalize_phone("064 123 4567", "RS")
    assert e164 == "+381641234567" == normalize_phone("+381 64 123-45-67", "TM")
    assert phone_hash(KEY, e164) != phone_hash(b"x" * 32, e164)
    assert phone_hash(KEY, e164) == phone_hash(KEY, normalize_phone("00381641234567", "RS"))
    assert passport_hash(KEY, "I-AŞ 123456") == passport_hash(KEY, "i-aş123456")
    assert passport_hash(KEY, "123456") != phone_hash(KEY, "123456")
    assert normalize_phone("65 123456", "TM") == "+99365123456"
    assert mask_phone("+381641234567") == "+381 64 ••• •• 67"
    for bad in ("not a number", "12", "+381"):
        with pytest.raises(BadPhone):
            normalize_phone(bad, "RS")


def test_the_secret_key_is_required_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import DEMO_SECRET_KEY, ConfigError, load_settings

    monkeypatch.delenv("MILA_SECRET_KEY", raising=False)
    assert load_settings().security.key() == DEMO_SECRET_KEY.encode()
    monkeypatch.setenv("MILA_ENV", "production")
    with pytest.raises(ConfigError, match="MILA_SECRET_KEY must be set"):
        load_settings()
    monkeypatch.setenv("MILA_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings()
    monkeypatch.setenv("MILA_SECRET_KEY", "x" * 40)
    settings = load_settings()
    assert settings.security.key() == b"x" * 40 and "x" * 40 not in repr(settings)
