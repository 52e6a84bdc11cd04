"""Yes and no as people type them, in every language the bot speaks: one table, used at every confirmation.

A confirmation shows a "yes" and a "no" button (`Turn.confirm`); a typed label already picks its button, but
people answer a question in their own words — `ne hvala`, `nemoj`, `ýok`, `gerek däl`, `hawa`, `može`. These
words are data, compared `fold`ed (case, diacritics and script don't matter, so `ДА` and `Ýok` count too), and
whole: `ne znam` is neither. A word here must never be a keyword of an intent or a button's label that means
something else.
"""

from __future__ import annotations

from bot.core.text import fold

YES_WORDS: tuple[str, ...] = (
    # Serbian (Latin; Cyrillic folds to it)
    "da", "da hvala", "da molim", "moze", "može", "naravno", "u redu", "vazi", "važi", "potvrdjujem", "potvrđujem",
    # Turkmen
    "hawa", "howa", "bolýar", "bolyar", "dogry", "tassyklaýaryn", "tassyklayaryn",
    # what anyone types
    "ok", "okej", "yes",
)  # fmt: skip
NO_WORDS: tuple[str, ...] = (
    "ne", "ne hvala", "nemoj", "necu", "neću", "ne treba", "nije potrebno", "odustajem", "ipak ne",
    "ýok", "yok", "ýok sag boluň", "gerek däl", "gerek dal", "gerekmez", "islemeýärin", "islemeyarin",
    "no", "nope",
)  # fmt: skip

_YES = frozenset(fold(w) for w in YES_WORDS)
_NO = frozenset(fold(w) for w in NO_WORDS)


def yes_or_no(text: str) -> bool | None:
    """True for a typed yes, False for a typed no, None for anything else."""
    folded = fold(text)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    return None
