"""Personal data at rest: code words as salted password hashes, phones and passports as keyed lookup hashes.

A code word is a low-entropy secret the subscriber says aloud, so it is stored like a password (scrypt with a
salt of its own per record) and compared in constant time. Phone numbers and passports have to be *found*, not
only checked, so they are indexed by HMAC-SHA256 under the server's secret key (a plain hash of a short number is
brute-forced in seconds; a keyed one is useless without the key). Everything is folded before hashing the way people
type it on a phone (`bot.core.text.fold_secret`), so that "Петар Петровић" and "petar petrovic", "Ýaňy gün" and
"yany gun", or "I-AŞ 123456" and "IAS123456" are the same. Hashes stay one-way: it is the folded form that is hashed.
Hashes made before folding (scheme `scrypt`, passports of the letters-kept form) are still checked in their own form
until the next import rewrites them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.core.text import fold_secret, normalize_secret
from bot.services.phones import BadPhone, mask_phone, normalize_phone

__all__ = ["BadPhone", "mask_phone", "normalize_phone"]  # numbers are normalized in one place: bot.services.phones

# scrypt cost: ~30 ms and 16 MiB per hash on a 2020s core. A code word is checked once per identification
# attempt (and attempts are limited), so this is cheap for us and expensive for someone holding a stolen table.
# The parameters are stored with each hash, so they can be raised later without invalidating old ones.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_SCHEME = "scrypt-f"  # the folded code word (`fold_secret`)
_LEGACY_SCHEME = "scrypt"  # the code word with its letters (`normalize_secret`), from imports before folding


def lookup_hash(key: bytes, kind: str, normalized: str) -> str:
    """HMAC-SHA256 of a normalized value; `kind` separates domains so a phone never matches a passport."""
    return hmac.new(key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def phone_hash(key: bytes, e164: str) -> str:
    return lookup_hash(key, "phone", e164)


def normalize_passport(raw: str) -> str:
    """Passports are compared folded, without spaces or dashes: "I-AŞ 123456" is "ias123456", as is "i as 123456"."""
    return fold_secret(raw).replace(" ", "")


def passport_hash(key: bytes, raw: str) -> str:
    return lookup_hash(key, "passport", normalize_passport(raw))


def passport_matches(key: bytes, typed: str, stored: str | None, *, serbian: bool) -> bool:
    """Does the typed passport match the stored keyed hash? Both forms are computed and compared whatever happens
    (a hash imported before folding kept the letters), so the answer takes the same time either way."""
    folded = passport_hash(key, typed)
    with_letters = "".join(ch for ch in normalize_secret(typed, serbian=serbian) if ch.isalnum())
    legacy = lookup_hash(key, "passport", with_letters)
    expected = stored or ""
    matches = hmac.compare_digest(folded, expected) | hmac.compare_digest(legacy, expected)
    return matches and bool(stored)


def hash_code_word(word: str) -> str:
    """A salted scrypt hash of the folded code word: `scrypt-f$N$r$p$salt$hash` (base64, no padding)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(fold_secret(word), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join((_SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def is_current_hash(stored: str | None) -> bool:
    """Whether a stored code-word hash is of the folded form (an import rewrites the others)."""
    return (stored or "").startswith(_SCHEME + "$")


def verify_code_word(word: str, stored: str | None, *, serbian: bool) -> bool:
    """Constant-time check of a typed code word against its stored hash; a missing or malformed hash never matches.

    When there is no stored hash a dummy hash is still computed, so the answer takes as long either way and
    does not tell whether the subscriber has a code word at all. `serbian` only matters for a hash imported before
    folding: it was made of the word with its letters (Serbian Cyrillic brought to Latin).
    """
    parts = (stored or "").split("$")
    if len(parts) != 6 or parts[0] not in (_SCHEME, _LEGACY_SCHEME):
        _scrypt(fold_secret(word), b"\0" * _SALT_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    typed = fold_secret(word) if parts[0] == _SCHEME else normalize_secret(word, serbian=serbian)
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    actual = _scrypt(typed, salt, n, r, p)
    return hmac.compare_digest(actual, expected)


def same_name(typed: str, stored: str) -> bool:
    """A full name compared the way people say it: folded (case, spacing, script, letters typed plain), in any order
    of its parts (a passport says "surname name", people say "name surname"), with or without the patronymic — the
    last part of a name of three or more written the seed's way, F.A.Aa. (surname, name, father's name). In
    constant time: both readings are compared whatever the first gives."""
    words = fold_secret(stored).split()
    given = " ".join(sorted(fold_secret(typed).split())).encode()
    whole = " ".join(sorted(words)).encode()
    without_patronymic = " ".join(sorted(words[:-1])).encode() if len(words) >= 3 else b"\0"
    matches = hmac.compare_digest(given, whole) | hmac.compare_digest(given, without_patronymic)
    return matches and bool(words)


def _scrypt(text: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(text.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=_HASH_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


# --- SIM codes -------------------------------------------------------------------------------------------------------
# A PUK must be shown to its subscriber, so it cannot be hashed like a code word: it is sealed (Fernet: AES-128-CBC
# with an HMAC) under a key derived from the server secret for this purpose only. A copy of the database alone does
# not reveal a PUK; the key never leaves the server's configuration.
def _sim_code_key(key: bytes) -> Fernet:
    derived = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"mila sim codes v1").derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal_sim_code(key: bytes, code: str) -> str:
    return _sim_code_key(key).encrypt(code.encode()).decode()


def open_sim_code(key: bytes, sealed: str | None) -> str | None:
    """The code, or None when there is none or it was sealed under another key (a rotated secret: re-import)."""
    if not sealed:
        return None
    try:
        return _sim_code_key(key).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
