"""The one reader of amounts of money typed by a person, in the ways Serbian and Turkmen subscribers write them.

A person at an amount question types `1500`, `1.500`, `2.340,50`, `2340,50`, `2 340.50`, `2000 din`, `50 manat`,
and sometimes more than they mean: `500 za 2 meseca`, `-100`, `1e3`. Reading the digits out of such a text and
gluing them together makes an invoice of 5.002,00 for "500 for 2 months", so this module reads every number on
its own and `parse_amount` accepts a text only when it holds exactly one plain, positive amount within the bounds
the caller gives; otherwise it raises `AmountError` whose reason says why, for an answer the person understands
(`REASON_TEXTS` are the answers, the same wherever an amount is asked).

Separators: spaces group thousands (`2 340`); when both `.` and `,` appear the last one is the decimal separator
(`2.340,50`, `2,340.50`); a single separator followed by exactly three digits after one to three digits groups
thousands (`1.500` = 1500, as Serbian and Turkmen write it), otherwise it is the decimal separator with at most two
decimals (`2340,50`, `12,4`). Anything else that looks like a number (`1e3`, `8.12.2026`, `12,345`) is "not a
plain number" rather than a guess.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal

from bot.core.i18n import N_

CENT = Decimal("0.01")
_GROUP_SPACE = "[ \u00a0\u202f]"  # a space, a no-break space, a narrow no-break space
_NUMBER = re.compile(
    r"(?P<sign>(?<![\w.,])[-\u2212\u2013+]\s?)?"
    r"(?<![\w.,])"
    rf"(?P<digits>\d+(?:(?:[.,]|{_GROUP_SPACE}(?=\d{{3}}(?!\d)))\d+)*)"
    r"(?P<tail>[eE][-+]?\d+|[.,](?!\d))?"
)


class AmountReason(enum.Enum):
    """Why a typed text is not an amount that can be taken."""

    NONE = "none"  # no number at all
    SEVERAL = "several"  # more than one number: which one is meant is not ours to guess
    NEGATIVE = "negative"
    NOT_PLAIN = "not_plain"  # 1e3, a date, three decimals, digits grouped wrongly
    TOO_SMALL = "too_small"  # zero or below the minimum
    TOO_LARGE = "too_large"


# The answer to each reason, with {low} and {high} for the bounds (already formatted as money by the caller).
REASON_TEXTS: dict[AmountReason, str] = {
    AmountReason.NONE: N_("I did not find an amount there. Type only the number, for example 1500 or 1.500,50."),
    AmountReason.SEVERAL: N_(
        "I found more than one number there. Type only the one amount, for example 1500 or 1.500,50."
    ),
    AmountReason.NEGATIVE: N_("The amount must be positive. Type an amount between {low} and {high}."),
    AmountReason.NOT_PLAIN: N_("Type the amount as a plain number, for example 1500 or 1.500,50."),
    AmountReason.TOO_SMALL: N_("The amount must be at least {low}."),
    AmountReason.TOO_LARGE: N_("The amount can be at most {high}."),
}


class AmountError(ValueError):
    """The typed text is not exactly one acceptable amount; `reason` says why."""

    def __init__(self, reason: AmountReason, value: Decimal | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class _Number:
    value: Decimal | None  # None: looks like a number but is not a plain one
    negative: bool


def _read(digits: str) -> Decimal | None:
    """The value of one run of digits and separators, or None when it is not a plainly written number."""
    digits = re.sub(_GROUP_SPACE, "", digits)
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        decimal_sep = "." if digits.rfind(".") > digits.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        if digits.count(decimal_sep) != 1:
            return None
        whole, fraction = digits.split(decimal_sep)
        groups = whole.split(group_sep)
    elif dots + commas == 0:
        whole, fraction, groups = digits, "", [digits]
    else:
        sep = "." if dots else ","
        parts = digits.split(sep)
        if len(parts) > 2 or (len(parts) == 2 and len(parts[1]) == 3 and 1 <= len(parts[0]) <= 3):
            whole, fraction, groups = digits.replace(sep, ""), "", parts
        else:
            whole, fraction = parts
            groups = [whole]
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        return None
    whole = "".join(groups)
    if len(fraction) > 2 or not whole.isdigit() or (fraction and not fraction.isdigit()):
        return None
    return Decimal(f"{whole}.{fraction or '0'}").quantize(CENT)


def _numbers(text: str) -> list[_Number]:
    found = []
    for match in _NUMBER.finditer(text):
        sign = (match.group("sign") or "").strip()
        tail = match.group("tail") or ""
        value = None if tail[:1] in ("e", "E") else _read(match.group("digits"))
        found.append(_Number(value, negative=sign in ("-", "\u2212", "\u2013")))
    return found


def find_amounts(text: str) -> list[Decimal]:
    """Every plainly written number in the text, in order, negative where a minus is in front of it."""
    return [-n.value if n.negative else n.value for n in _numbers(text) if n.value is not None]


def amounts_in_sentence(text: str) -> list[Decimal]:
    """The amounts a sentence names ("predračun na 1500 dinara"), for the understanding step: positive plain numbers,
    leaving out what reads as a phone number (a leading 0 or +) or an account number ("1234567/1")."""
    found: list[Decimal] = []
    for match in _NUMBER.finditer(text):
        digits = match.group("digits")
        sign = (match.group("sign") or "").strip()
        account = text[match.end() :][:1] == "/" or text[: match.start()][-1:] == "/"
        if sign or account or (len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()):
            continue
        tail = match.group("tail") or ""
        value = None if tail[:1] in ("e", "E") else _read(digits)
        if value is not None and value > 0:
            found.append(value)
    return found


def parse_amount(text: str, *, minimum: Decimal, maximum: Decimal) -> Decimal:
    """The one positive amount the text holds, within [minimum, maximum], rounded to cents; else `AmountError`."""
    numbers = _numbers(text)
    if not numbers:
        raise AmountError(AmountReason.NONE)
    if len(numbers) > 1:
        raise AmountError(AmountReason.SEVERAL)
    (number,) = numbers
    if number.value is None:
        raise AmountError(AmountReason.NOT_PLAIN)
    if number.negative:
        raise AmountError(AmountReason.NEGATIVE, -number.value)
    if number.value < minimum or number.value <= 0:
        raise AmountError(AmountReason.TOO_SMALL, number.value)
    if number.value > maximum:
        raise AmountError(AmountReason.TOO_LARGE, number.value)
    return number.value
