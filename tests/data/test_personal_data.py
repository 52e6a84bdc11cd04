"""Code words, names and passports are compared the way people write them; nothing is kept in the clear."""

from __future__ import annotations

import pytest

from bot.services.personal_data import (
    BadPhone,
    hash_code_word,
    mask_phone,
    normalize_phone,
    passport_hash,
    phone_hash,
    same_text,
    verify_code_word,
)

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Šljiva", "šljiva"),
        ("Šljiva", "ШЉИВА"),  # Serbian Cyrillic of the same word
        ("Džungla", "џунгла"),
        ("  Moja   reč ", "moja reč"),
    ],
)
def test_serbian_code_word_in_either_script(stored: str, typed: str) -> None:
    hashed = hash_code_word(stored, serbian=True)
    assert stored.strip() not in hashed and "ljiva" not in hashed
    assert verify_code_word(typed, hashed, serbian=True)


@pytest.mark.parametrize(
    ("stored", "typed", "matches"),
    [
        ("Gülälek", "GÜLÄLEK", True),
        ("Şatlyk", "şatlyk", True),
        ("Şatlyk", "Șatlyk", False),  # S with comma below (Romanian) is another letter
        ("Ýyldyz", "yyldyz", False),  # the letters count in a secret
        ("Aýnabat", "Aýnabat", True),
        ("Aýnabat", "Ay\u0301nabat", True),  # y + combining acute, the same letter after NFC
    ],
)
def test_turkmen_code_word(stored: str, typed: str, matches: bool) -> None:
    assert verify_code_word(typed, hash_code_word(stored, serbian=False), serbian=False) is matches


def test_each_hash_has_its_own_salt_and_bad_hashes_never_match() -> None:
    first, second = hash_code_word("lozinka", serbian=True), hash_code_word("lozinka", serbian=True)
    assert first != second
    assert not verify_code_word("lozinka", None, serbian=True)
    assert not verify_code_word("lozinka", "plain", serbian=True)
    assert not verify_code_word("lozinka", "scrypt$x$8$1$salt$hash", serbian=True)
    assert not verify_code_word("lozinke", first, serbian=True)


def test_names_compare_across_scripts_and_case() -> None:
    assert same_text("Petar Petrović", "ПЕТАР  ПЕТРОВИЋ", serbian=True)
    assert not same_text("Petar Petrović", "Petar Petrovic", serbian=True)
    assert same_text("Aýna Öwezowa", "aýna öwezowa", serbian=False)


def test_phone_and_passport_hashes_are_keyed() -> None:
    e164 = normalize_phone("064 123 4567", "RS")
    assert e164 == "+381641234567" == normalize_phone("+381 64 123-45-67", "TM")
    assert phone_hash(KEY, e164) != phone_hash(b"x" * 32, e164)
    assert phone_hash(KEY, e164) == phone_hash(KEY, normalize_phone("00381641234567", "RS"))
    assert passport_hash(KEY, "I-AŞ 123456", serbian=False) == passport_hash(KEY, "i-aş123456", serbian=False)
    assert passport_hash(KEY, "123456", serbian=False) != phone_hash(KEY, "123456")
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
