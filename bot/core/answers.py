"""Yes and no as people type them, in every language the bot speaks: one table, used at every confirmation.

A confirmation shows a "yes" and a "no" button (`Turn.confirm`); a typed label already picks its button, but
people answer a question in their own words — `ne hvala`, `nemoj`, `ýok`, `gerek däl`, `hawa`, `može`. These
words are data, in `locales/<language>/answers.yaml` (`yes: [...]`, `no: [...]`), read once. They are compared
`fold`ed (case, diacritics, punctuation and script don't matter, so `ДА`, `Ýok` and `ýok, gerek däl` count too),
and whole: `ne znam` is neither. A word must never be a global keyword that means something else: the engine
refuses to start with one (`Answers.refuse_keywords`), as a typed yes/no is read before the keywords at a question.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml

from bot.core.keywords import Keywords
from bot.core.text import fold

LOCALES = Path(__file__).resolve().parents[2] / "locales"
ANSWER_FILE = "answers.yaml"
KEYS = ("yes", "no")


class Answers:
    """The folded yes words and no words of every language."""

    def __init__(self, yes: Iterable[str], no: Iterable[str]) -> None:
        self.yes = frozenset(fold(w) for w in yes)
        self.no = frozenset(fold(w) for w in no)
        if "" in self.yes or "" in self.no:
            raise ValueError("an empty yes or no word")
        if both := sorted(self.yes & self.no):
            raise ValueError(f"both a yes and a no: {', '.join(both)}")

    def answer(self, text: str) -> bool | None:
        """True for a typed yes, False for a typed no, None for anything else."""
        folded = fold(text)
        if folded in self.yes:
            return True
        if folded in self.no:
            return False
        return None

    def refuse_keywords(self, keywords: Keywords) -> None:
        """Refuse a yes or no word that the keyword table reads as an intent (exactly, or forgiving a slip)."""
        clashes = [
            f"{word!r} is a {kind} and the keyword of {intent!r}"
            for kind, words in (("yes", self.yes), ("no", self.no))
            for word in sorted(words)
            if (intent := keywords.forgiving(word)) is not None
        ]
        if clashes:
            raise ValueError("yes/no words that mean something else: " + "; ".join(clashes))


def load_answers(directory: Path = LOCALES) -> Answers:
    """The yes and no words of every `<directory>/<language>/answers.yaml`. Read with the YAML base loader, so that
    `no`, `yes` and `ok` stay words and are not read as booleans."""
    words: dict[str, list[str]] = {key: [] for key in KEYS}
    files = sorted(directory.glob(f"*/{ANSWER_FILE}"))
    if not files:
        raise ValueError(f"no {ANSWER_FILE} under {directory}")
    for file in files:
        # BaseLoader builds only strings, lists and mappings: as safe as safe_load, without its booleans.
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}  # noqa: S506
        if (
            not isinstance(data, dict)
            or set(data) - set(KEYS)
            or not all(isinstance(v, list) and all(isinstance(w, str) for w in v) for v in data.values())
        ):
            raise ValueError(f"{file}: expected yes: [words] and no: [words]")
        for key in KEYS:
            words[key] += data.get(key, [])
    return Answers(words["yes"], words["no"])


@cache
def shipped() -> Answers:
    """The table of the project's own locales, read once."""
    return load_answers()


def yes_or_no(text: str) -> bool | None:
    """True for a typed yes, False for a typed no, None for anything else."""
    return shipped().answer(text)
