"""Typed words → global intents and buttons, forgiving the ways people type on a phone.

Every keyword and every typed text is compared `fold`ed (case, diacritics, script, spaces don't matter). An exact
match always wins. Where the user is not typing data (a description, a name, a code word), two more ways to match
are tried, each only when it names exactly one intent:

* Digraphs for the letters a keyboard lacks: "sh" for ş/š, "ch" for ç/č/ć, "zh" for ž ("shahsy hasabym" →
  "şahsy hasabym"). Turkmen Latin has no "c" of its own and no keyword of either language has a real "sh", "ch"
  or "zh" that would then read like another keyword: any keyword whose digraph-folded form collides with a keyword
  of another intent is left out of this table (and a test keeps the catalogs free of such collisions).
* One typing slip in a long word: a word of at least `MIN_FUZZY_LENGTH` letters matches a keyword's word one
  insertion, deletion, substitution or swap of neighbours away ("uslgue" → "usluge", "reklamcija" →
  "reklamacija"). Short words must be exact: "dug" is one letter from many words, "pin" from "pun".
  A phrase matches word by word, with the same number of words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.text import digraph_fold, fold

MIN_FUZZY_LENGTH = 6
MIN_PREFIX = 3  # a typed word this long may be the start of a button's word ("gün" of "günlük")
MIN_STEM = 4  # two words sharing all but their last letters, at least this many, are one word with two endings


def one_edit_apart(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of two neighbouring letters turns `a` into `b`."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        swapped = a[i + 1 : i + 2] == b[i : i + 1] and a[i : i + 1] == b[i + 1 : i + 2] and a[i + 2 :] == b[i + 2 :]
        return a[i + 1 :] == b[i + 1 :] or swapped
    if len(a) > len(b):
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


class Keywords:
    """The keyword table of the engine: `exact` for any state, `forgiving` where typed text is not data."""

    def __init__(self, words: Iterable[tuple[str, str]]) -> None:
        self.exact: dict[str, str] = {}
        loose: dict[str, set[str]] = {}
        for word, intent in words:
            if folded := fold(word):
                self.exact.setdefault(folded, intent)
                loose.setdefault(digraph_fold(folded), set()).add(intent)
        self.ambiguous = {key for key, intents in loose.items() if len(intents) > 1}
        self._loose = {key: next(iter(intents)) for key, intents in loose.items() if len(intents) == 1}
        self._phrases = [(tuple(key.split()), intent) for key, intent in self._loose.items()]

    def get(self, folded: str) -> str | None:
        return self.exact.get(folded)

    def forgiving(self, folded: str) -> str | None:
        """The one intent `folded` means, exactly, with digraphs or with one slip per long word; else None."""
        if folded in self.exact:
            return self.exact[folded]
        key = digraph_fold(folded)
        if key in self._loose or key in self.ambiguous:
            return self._loose.get(key)
        typed = key.split()
        found = {
            intent
            for phrase, intent in self._phrases
            if len(phrase) == len(typed) and all(_near(t, p) for t, p in zip(typed, phrase, strict=True))
        }
        return found.pop() if len(found) == 1 else None


def _near(typed: str, keyword: str) -> bool:
    if typed == keyword:
        return True
    return len(keyword) >= MIN_FUZZY_LENGTH and not keyword.isdigit() and one_edit_apart(typed, keyword)


# --- the words of a button's label ------------------------------------------------------------------------------
_WORDS = re.compile(r"[^\W_]+")


def words_of(folded: str) -> list[str]:
    """The words of a folded text, punctuation and emoji left out."""
    return _WORDS.findall(folded)


def same_word(typed: str, label: str) -> bool:
    """The same word, or the same stem with another ending: "telefon" ~ "telefona", "sifra" ~ "sifrom", "gun" ~
    "gunluk", "mreza" ~ "mreze" (both languages inflect by endings). Short words must be whole: "ne" is not "neki"."""
    if typed == label or typed.isdigit() or label.isdigit():
        return typed == label
    if len(typed) >= MIN_PREFIX and label.startswith(typed):
        return True
    shorter = min(len(typed), len(label))
    common = next((i for i, (a, b) in enumerate(zip(typed, label, strict=False)) if a != b), shorter)
    return shorter >= MIN_STEM and common >= max(MIN_STEM, shorter - 1)


def has_run(words: list[str], run: list[str]) -> bool:
    """Whether `run` stands in `words` as consecutive words (`same_word`)."""
    return any(
        all(same_word(t, w) for t, w in zip(run, words[i : i + len(run)], strict=True))
        for i in range(len(words) - len(run) + 1)
    )
