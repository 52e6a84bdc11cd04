"""Typed text as the learning loop keeps it: what was asked, without who asked.

Digits (phone numbers, codes, amounts, references), e-mail addresses, links and anything that looks like a name (a
capitalised word that does not start the sentence) are replaced, so a row of `understanding_events` says what
subscribers ask for and nothing about a person.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LINK = re.compile(r"(?:https?://|www\.)\S+")
_HANDLE = re.compile(r"(?<![\w])@\w+")
_WITH_DIGIT = re.compile(r"[^\W_]*\d[\w/.\-+]*")
_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?]")
MAX_LENGTH = 200


def mask(text: str) -> str:
    """'Ja sam Marko, broj 064 123 4567' → 'Ja sam «name», broj # # #'."""
    text = _EMAIL.sub("«email»", text)
    text = _LINK.sub("«link»", text)
    text = _HANDLE.sub("«handle»", text)
    text = _WITH_DIGIT.sub("#", text)
    out: list[str] = []
    pos = 0
    sentence_start = True
    for match in _WORD.finditer(text):
        between = text[pos : match.start()]
        out.append(between)
        if _SENTENCE_END.search(between):
            sentence_start = True
        word = match.group(0)
        named = not sentence_start and word[:1].isupper() and not word.isupper()
        out.append("«name»" if named else word)
        sentence_start = False
        pos = match.end()
    out.append(text[pos:])
    return " ".join("".join(out).split())[:MAX_LENGTH]
