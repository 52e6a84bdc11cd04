"""Text helpers shared by every flow and channel: folding typed input, transliteration, splitting long replies.

Subscribers type on phones, often without diacritics and in either Serbian script, so everything typed is
compared in a folded form: lower case, no diacritics, Cyrillic turned into Latin, runs of spaces collapsed.
"""

from __future__ import annotations

import re
import unicodedata

# Serbian Cyrillic → Latin (Gaj's alphabet). Digraphs first on the way back.
_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z", "и": "i",
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č", "џ": "dž", "ш": "š",
}  # fmt: skip
_CYR_TO_LAT.update({k.upper(): v.capitalize() for k, v in list(_CYR_TO_LAT.items())})
_CYR_TABLE = str.maketrans(_CYR_TO_LAT)

_LAT_DIGRAPHS = {
    "lj": "љ",
    "nj": "њ",
    "dž": "џ",
    "Lj": "Љ",
    "Nj": "Њ",
    "Dž": "Џ",
    "LJ": "Љ",
    "NJ": "Њ",
    "DŽ": "Џ",
}
_LAT_SINGLE = {v: k for k, v in _CYR_TO_LAT.items() if len(v) == 1}

# Letters folded to plain ASCII beyond what NFKD decomposition removes.
_FOLD_EXTRA = str.maketrans({"đ": "dj", "ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "ł": "l"})

# Tokens that stay in Latin script inside Serbian Cyrillic text: addresses, commands, placeholders, brands.
_KEEP_LATIN = re.compile(
    r"""(
        \{[^{}]*\}                       # str.format placeholders
      | %\([^)]*\)[sd]                   # printf placeholders
      | <[^<>]*>                         # HTML tags
      | &[a-z]+;                         # HTML entities
      | [\w.+-]+@[\w-]+(?:\.[\w-]+)+     # e-mail addresses
      | (?:https?://|www\.)\S+           # links
      | (?<![\w])/[a-z_]+                 # bot commands
      | \b(?:mts|MTS|SMS|MMS|GPRS|PIN|PUK|SIM|BOX|TV|IVR|AntiAON|Viber|Telegram|RSD|TMT|E\.164|[Ee]-mail|OK)\b
    )""",
    re.VERBOSE,
)


_CAPITAL_DIGRAPH = re.compile(r"([ЉЊЏ])(?=[А-ЯЂЈЉЊЋЏ])")


def cyrillic_to_latin(text: str) -> str:
    """Serbian Cyrillic → Latin; Љ is "LJ" inside an upper-case word ("ЉУБАВ" → "LJUBAV") and "Lj" otherwise."""
    text = _CAPITAL_DIGRAPH.sub(lambda m: _CYR_TO_LAT[m.group(1)].upper(), text)
    return text.translate(_CYR_TABLE)


def latin_to_cyrillic(text: str) -> str:
    """Serbian Latin → Cyrillic, leaving e-mail addresses, links, placeholders, markup and brands untouched."""
    out: list[str] = []
    pos = 0
    for match in _KEEP_LATIN.finditer(text):
        out.append(_latin_run_to_cyrillic(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_latin_run_to_cyrillic(text[pos:]))
    return "".join(out)


def _latin_run_to_cyrillic(run: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(run):
        pair = run[i : i + 2]
        if pair in _LAT_DIGRAPHS:
            out.append(_LAT_DIGRAPHS[pair])
            i += 2
            continue
        ch = run[i]
        out.append(_LAT_SINGLE.get(ch, ch))
        i += 1
    return "".join(out)


_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s+/@.-]")


def fold(text: str) -> str:
    """The form typed input is compared in: 'Uključi  me!' → 'ukljuci me', 'Менију' → 'meniju', 'Kömek' → 'komek'."""
    text = unicodedata.normalize("NFC", text).strip()
    text = cyrillic_to_latin(text).casefold().translate(_FOLD_EXTRA)
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip(" .")


def normalize_secret(text: str, *, serbian: bool) -> str:
    """Names, code words and passports: NFC, case folding, spaces folded; letters kept as letters.

    Unlike `fold`, diacritics stay (Turkmen Ş is not Ș, and š is not s in a code word); Serbian Cyrillic is
    brought to Latin because the same person writes their name in either script.
    """
    text = unicodedata.normalize("NFC", text)
    if serbian:
        text = cyrillic_to_latin(text)
    return _SPACES.sub(" ", text.casefold()).strip()


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long reply into messages of at most `limit` characters, at line breaks where possible."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [part.rstrip("\n") for part in parts if part.strip()]
