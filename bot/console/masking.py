"""Numbers in what support sees, masked as on the desk card: a phone number as `+381 64 ••• •• 67`, any other long
run of digits (a passport, an account) down to its last two."""

from __future__ import annotations

import re

import phonenumbers

from bot.services.phones import mask_phone

# Digits with at most two other characters between them (a space of any width, a comma, a semicolon, an underscore,
# a slash…) are one number: "064,123,4567" or "064\u2009123\u20094567" is a phone number too.
_DIGITS = re.compile(r"\d(?:(?:[^\w\n]|_){0,2}\d)+")


def _digits_only(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = sum(c.isdigit() for c in run)
    if digits < 6:
        return run
    seen = 0
    out = []
    for c in run:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - 2 else "•")
        else:
            out.append(c)
    return "".join(out)


def mask_numbers(text: str, region: str) -> str:
    out: list[str] = []
    pos = 0
    for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        out.append(text[pos : found.start])
        out.append(mask_phone(phonenumbers.format_number(found.number, phonenumbers.PhoneNumberFormat.E164)))
        pos = found.end
    out.append(text[pos:])
    return _DIGITS.sub(_digits_only, "".join(out))
