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

# Spans that stay in Latin script inside Serbian Cyrillic text: addresses, handles, commands, placeholders, brands.
_KEEP_LATIN = re.compile(
    r"""(
        \{[^{}]*\}                       # str.format placeholders
      | %\([^)]*\)[sd]                   # printf placeholders
      | <[^<>]*>                         # HTML tags
      | &[a-z]+;                         # HTML entities
      | [\w.+-]+@[\w-]+(?:\.[\w-]+)+     # e-mail addresses
      | (?:https?://|www\.)\S+           # links
      | \b[\w-]+(?:\.[\w-]+)*\.(?:rs|com|net|org|tm|eu|info)\b(?:/[\w./?=&%-]*)?  # bare domains: mts.rs/start
      | (?<![\w])[@#]\w+                 # @handles and #hashtags
      | (?<![\w])/[a-z_]+                 # bot commands
      | \bR-\d+\b                        # references of requests: R-12345678
      | \b(?:mts|MTS|SMS|MMS|GPRS|PIN|PUK|SIM|BOX|TV|IVR|AntiAON|Viber|Telegram|RSD|TMT|E\.164|[Ee]-mail|OK)\b
    )""",
    re.VERBOSE,
)

# Words written in Latin letters that are not Serbian: they stay in Latin script too.
#  - a word (or hyphenated compound) with a letter Serbian does not have (q, w, x, y, ü, ş…): Wi-Fi, XL, I-AŞ;
#  - a word with an upper-case letter after a lower-case one: iPhone, mCash;
#  - a code of capitals and digits (5G, S24);
#  - an ALL-CAPS word of 2+ letters inside ordinary text: a code or keyword (STOP, GB, PUK). Not when it has a
#    Serbian letter or digraph (UKLJUČI, LJUBAV), nor when the whole text is in capitals (a shouted heading), nor
#    DA and NE: the labels of the yes/no buttons, which texts quote („DA“) and the Cyrillic buttons read ДА/НЕ;
#  - after a word kept by the first two rules, the model name that follows it: numbers and capitalised ASCII words
#    separated by single spaces (iPhone 15 Pro, Galaxy S24 Ultra).
_WORD = re.compile(r"\w+(?:-\w+)*")
_MIXED_CASE = re.compile(r"[a-zčćđšž][A-ZČĆĐŠŽ]")
_SERBIAN_IN_CAPS = re.compile(r"[ČĆĐŠŽ]|LJ|NJ|DŽ|^DA$|^NE$")
_MODEL_PART = re.compile(r"[A-Z0-9][A-Za-z0-9]*")

# Where "dž" and "nj" are two letters, not one (Serbian orthography): "d" of a prefix before a stem in ž
# (nadživeti → надживети, odžaliti, podžupan, predželudac) and "n" before "j" in some loanwords (konjunkcija →
# конјункција, injekcija, vanjezički). Stems as "before|after", matched at the start of a word, optionally after ne-.
_SPLIT_DIGRAPH_STEMS = (
    "nad|živ", "nad|žnj", "nad|žanj", "nad|žup",
    "od|žal", "od|živ", "od|žva", "od|žubor",
    "pod|žup", "pod|žanr", "pod|žig", "pod|žeć",
    "pred|želu", "pred|živ",
    "in|jekc", "in|jekt", "in|jicir", "kon|junk", "kon|jug", "van|jezič", "tan|jug",
)  # fmt: skip
_SPLIT_DIGRAPH = re.compile(
    r"^(?:ne)?(?:"
    + "|".join(f"{before}(?={after})" for before, after in (stem.split("|") for stem in _SPLIT_DIGRAPH_STEMS))
    + ")",
    re.IGNORECASE,
)


_CAPITAL_DIGRAPH = re.compile(r"([ЉЊЏ])(?=[А-ЯЂЈЉЊЋЏ])")


def cyrillic_to_latin(text: str) -> str:
    """Serbian Cyrillic → Latin; Љ is "LJ" inside an upper-case word ("ЉУБАВ" → "LJUBAV") and "Lj" otherwise."""
    text = _CAPITAL_DIGRAPH.sub(lambda m: _CYR_TO_LAT[m.group(1)].upper(), text)
    return text.translate(_CYR_TABLE)


def latin_to_cyrillic(text: str) -> str:
    """Serbian Latin → Cyrillic, leaving addresses, handles, placeholders, markup, brands and foreign words untouched
    (see `_KEEP_LATIN` and the word rules above)."""
    spans = list(_KEEP_LATIN.finditer(text))
    outside = "".join(text[a:b] for a, b in _gaps(spans, len(text)))
    shouting = not any(ch.islower() for ch in outside)
    out: list[str] = []
    pos = 0
    for match in spans:
        out.append(_latin_run_to_cyrillic(text[pos : match.start()], shouting=shouting))
        out.append(match.group(0))
        pos = match.end()
    out.append(_latin_run_to_cyrillic(text[pos:], shouting=shouting))
    return "".join(out)


def _gaps(spans: list[re.Match[str]], length: int) -> list[tuple[int, int]]:
    bounds = [0, *(i for m in spans for i in (m.start(), m.end())), length]
    return list(zip(bounds[::2], bounds[1::2], strict=True))


def _latin_run_to_cyrillic(run: str, *, shouting: bool) -> str:
    out: list[str] = []
    pos = 0
    model = False  # inside a product name that follows a foreign word: "iPhone| 15 Pro"
    for match in _WORD.finditer(run):
        between = run[pos : match.start()]
        out.append(between)
        pos = match.end()
        word = match.group(0)
        if model and between == " " and _MODEL_PART.fullmatch(word):
            out.append(word)
            continue
        if any(ch.isalpha() and ch not in _LAT_SINGLE for ch in word):
            out.append(word)
            model = True
            continue
        model = False
        parts = word.split("-")
        if any(_MIXED_CASE.search(part) for part in parts):
            model = True
        out.append("-".join(_word_to_cyrillic(part, shouting=shouting) for part in parts))
    out.append(run[pos:])
    return "".join(out)


def _word_to_cyrillic(word: str, *, shouting: bool) -> str:
    if _MIXED_CASE.search(word):
        return word
    if word.isupper() and not word.isalpha() and not word.isdigit():
        return word  # letters and digits: a code (5G, S24, 20GB)
    if not shouting and len(word) >= 2 and word.isupper() and not _SERBIAN_IN_CAPS.search(word):
        return word
    split = _SPLIT_DIGRAPH.match(word)
    no_digraph_at = split.end() - 1 if split else -1
    out: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in _LAT_DIGRAPHS and i != no_digraph_at:
            out.append(_LAT_DIGRAPHS[pair])
            i += 2
            continue
        ch = word[i]
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


_DIGRAPHS = re.compile(r"([scz])h")
_SECRET_WORD = re.compile(r"[^\W_]+")


def digraph_fold(folded: str) -> str:
    """'shahsy' → 'sahsy', 'chagyrys' → 'cagyrys': a folded text with typed digraphs read as their letter (a phone
    keyboard without ş, ç, ž, š, č)."""
    return _DIGRAPHS.sub(r"\1", folded)


def fold_secret(text: str) -> str:
    """Names, code words and passports as people type them: the words of the `fold`ed text with sh/ch/zh read as
    ş/ç/ž, so "Ýaňy gün" = "yany gun" = "YANY  GÜN", "Şamyradow" = "Shamyradow", "Петровић" = "petrovic", and
    "I-AŞ 123456" = "i as 123456" (joined without spaces for a passport: `normalize_passport`).

    Forgiving on purpose: a subscriber typing on a phone without Turkmen letters is the owner as much as one with
    them; the guesses an attacker gets are limited by the lockout, not by the letters."""
    return " ".join(_SECRET_WORD.findall(digraph_fold(fold(text))))


def normalize_secret(text: str, *, serbian: bool) -> str:
    """The form code words and passports were hashed in before `fold_secret`: NFC, case folding, spaces folded,
    letters kept as letters, Serbian Cyrillic brought to Latin. Only stored hashes of that form are checked with it
    (`bot.services.personal_data`); everything new is hashed folded.
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
