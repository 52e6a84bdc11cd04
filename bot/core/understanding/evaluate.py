"""Scoring the understanding step on a labelled file: what `mila nlu test`, the test suite and the benchmark print.

The file maps an intent to messages (`intent: [message, …]`); "message => step" names the payload the message
should lead straight to ("ugasite mi gprs => svn:gprs:0"); "a|b" as the intent accepts either (two requests in
one message); `out_of_scope` messages must not be routed anywhere. A clarifying question or "not understood" is
not a wrong route: the subscriber is asked, not misled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.understanding import OUT_OF_SCOPE, Model, Reading

SEPARATOR = " => "
YES_NO = ("yes", "no")


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    intents: tuple[str, ...]
    step: str | None


@dataclass
class Score:
    total: int = 0
    right: int = 0
    wrong: int = 0
    with_step: int = 0
    straight: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, routed or "-")
    mistakes: list[tuple[str, str, str]] = field(default_factory=list)  # text, expected, routed

    @property
    def right_share(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.total if self.total else 0.0

    @property
    def straight_share(self) -> float:
        return self.straight / self.with_step if self.with_step else 0.0


def load_labelled(file: Path) -> list[Labelled]:
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected intent: [messages]")
    out: list[Labelled] = []
    for intent, messages in data.items():
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            raise ValueError(f"{file}: {intent}: expected a list of messages")
        for message in messages:
            text, _, step = message.partition(SEPARATOR)
            out.append(Labelled(text.strip(), tuple(str(intent).split("|")), step.strip() or None))
    return out


def routed(reading: Reading) -> str | None:
    """Where the engine would send the message at the main menu: the confident intent, else nowhere (yes and no
    answer only a yes/no question)."""
    return reading.best if reading.confident and reading.best not in YES_NO else None


def score(model: Model, labelled: list[Labelled], languages: tuple[str, ...]) -> Score:
    result = Score()
    for item in labelled:
        reading = model.read(item.text)
        went = routed(reading)
        result.total += 1
        expected = "|".join(item.intents)
        if item.intents == (OUT_OF_SCOPE,):
            ok, bad = went is None or went == OUT_OF_SCOPE, went not in (None, OUT_OF_SCOPE)
        else:
            ok, bad = went in item.intents, went is not None and went not in item.intents
        result.right += ok
        result.wrong += bad
        result.confusion[(expected, went or "-")] += 1
        if not ok:
            result.mistakes.append((item.text, expected, went or "-"))
        if item.step is not None:
            result.with_step += 1
            result.straight += ok and went is not None and model.step(went, reading, languages) == item.step
    return result


def report(result: Score) -> str:
    """The figures, the wrong routes and the confusion table, as `mila nlu test` prints them."""
    lines = [
        f"messages: {result.total}",
        f"routed right: {result.right_share:.3f}",
        f"routed wrong: {result.wrong_share:.3f}",
        f"straight to the named step: {result.straight_share:.3f} ({result.straight}/{result.with_step})",
    ]
    wrong = [m for m in result.mistakes if m[2] != "-"]
    if wrong:
        lines.append("")
        lines.append("wrong routes:")
        lines += [f"  {text!r}: expected {expected}, routed to {went}" for text, expected, went in wrong]
    missed = [m for m in result.mistakes if m[2] == "-"]
    if missed:
        lines.append("")
        lines.append("not routed (asked or not understood):")
        lines += [f"  {text!r}: expected {expected}" for text, expected, _went in missed]
    lines.append("")
    lines.append("confusion (expected → routed: count), off the diagonal:")
    for (expected, went), count in sorted(result.confusion.items(), key=lambda kv: -kv[1]):
        if went != expected and not (went == "-" and expected == OUT_OF_SCOPE):
            lines.append(f"  {expected} → {went}: {count}")
    return "\n".join(lines)
