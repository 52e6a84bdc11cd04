"""Amounts of money as subscribers type them: "1500", "1.500 din", "1 500,50 RSD", "12,4 manat".

One parser for every flow. `find_amounts` reads the amounts out of a sentence ("pošaljite mi predračun na 1500
dinara" → [1500]); numbers that are plainly something else (a phone number, an account number "1234567/1", a
request reference) are not amounts.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# A number with optional thousands groups and decimals: 1500, 1.500, 1 500, 1.500,50, 1500.50
_NUMBER = re.compile(r"(?<![\w/+.,-])(\d{1,3}(?:[ .]\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?)(?![\w/]|[.,]\d)")
MAX_DIGITS = 9  # more digits than this is an identifier, not a sum a subscriber pays


def _to_decimal(number: str) -> Decimal | None:
    cleaned = number.replace(" ", "")
    last = max(cleaned.rfind("."), cleaned.rfind(","))
    if last >= 0 and not ("," not in cleaned and len(cleaned) - last - 1 == 3):
        whole, fraction = cleaned[:last], cleaned[last + 1 :]
    else:
        whole, fraction = cleaned, ""
    whole = whole.replace(".", "").replace(",", "")
    if not whole.isdigit() or len(whole) > MAX_DIGITS or (fraction and not fraction.isdigit()):
        return None
    try:
        return Decimal(f"{whole}.{fraction or 0}").quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def find_amounts(text: str) -> list[Decimal]:
    """Every amount in `text`, in order; a number that starts with 0 or + (a phone number) is left out."""
    found: list[Decimal] = []
    for match in _NUMBER.finditer(text):
        number = match.group(1)
        if number.startswith("0") and len(number.replace(" ", "")) > 1 and "," not in number:
            continue
        amount = _to_decimal(number)
        if amount is not None and amount > 0:
            found.append(amount)
    return found
