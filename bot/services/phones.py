"""Phone numbers: typed in every way people write them, stored and compared in E.164, shown masked."""

from __future__ import annotations

import phonenumbers


class BadPhone(ValueError):
    pass


def normalize_phone(text: str, region: str) -> str:
    """'064 123 4567', '+381641234567', '381641234567' (Telegram drops the +) → '+381641234567'."""
    cleaned = text.strip()
    digits = "".join(ch for ch in cleaned if ch.isdigit())
    candidates = [cleaned]
    if not cleaned.startswith(("+", "0")) and len(digits) > 9:
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise BadPhone(text)


def can_receive_sms(e164: str) -> bool:
    """Whether a one-time code can go to this number: a mobile line (or one the numbering plan can't tell)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def mask_phone(e164: str) -> str:
    """'+381641234567' → '+381 64 ••• •• 67': enough for the owner to recognise it, not to learn it."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "•••"
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number) or phonenumbers.length_of_national_destination_code(
        number
    )
    area = area or 2
    hidden = len(national) - area - 2
    masked = "•" * max(hidden, 0)
    grouped = " ".join([masked[:3], masked[3:]]) if len(masked) > 4 else masked
    return f"+{number.country_code} {national[:area]} {grouped} {national[-2:]}".replace("  ", " ")


def log_phone(e164: str) -> str:
    """The form a number may take in a log line: '+381…67'."""
    return f"{e164[:4]}…{e164[-2:]}" if len(e164) > 6 else "…"
