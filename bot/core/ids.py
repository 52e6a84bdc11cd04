"""Numbers read from button payloads and callbacks: ASCII digits only, and small enough for a database column.

`str.isdigit()` is true for "²" and "³", which `int()` refuses (an exception where a stale-button answer was
meant), and a forged id of twenty digits passes it and overflows the BIGINT it is compared with (the driver's
error, with the statement and its parameters, ended up in the log). Every id from outside goes through here.
"""

from __future__ import annotations

import re

_ID = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1  # the largest BIGINT (Viber's message tokens come close)


def parse_id(raw: object) -> int | None:
    """The number `raw` spells in ASCII digits, or None for anything else (sign, spaces, other digits, too long)."""
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        return None
    number = int(raw)
    return number if number <= MAX_ID else None
