"""What a check says about a part of the deployment, and which parts of a running process are usable.

`mila doctor` and the start of `mila run` run the same checks (bot.checks); each gives `Finding`s: ok, warning or
error, what it found and what to do about it. In `mila run` an error that makes a part useless (a Telegram token
Telegram refuses, a support group the bot cannot post in) stops that part: it is logged once, shown by name in
`/healthz` and as `mila_part_up{part} 0` in `/metrics`, never a silent half-start. Parts whose cause can be fixed
outside mila (the group's settings, the mail server) are checked again while the process runs and come back on
their own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.metrics import Metrics

log = logging.getLogger("mila.health")


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


_RANK = {Level.OK: 0, Level.WARNING: 1, Level.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: `part` (telegram, desk, mail, …), how it went, what was found and what to do."""

    part: str
    level: Level
    message: str
    advice: str = ""

    def line(self) -> str:
        text = f"{self.level.value:<8} {self.part:<13} {self.message}"
        return text + (f" — {self.advice}" if self.advice else "")

    @property
    def summary(self) -> str:
        """For /healthz: "ok", or the level and what was found."""
        return "ok" if self.level is Level.OK else f"{self.level.value}: {self.message}"


def ok(part: str, message: str) -> Finding:
    return Finding(part, Level.OK, message)


def warning(part: str, message: str, advice: str = "") -> Finding:
    return Finding(part, Level.WARNING, message, advice)


def error(part: str, message: str, advice: str = "") -> Finding:
    return Finding(part, Level.ERROR, message, advice)


def worst(findings: Iterable[Finding]) -> Finding | None:
    """The most serious finding (the first of equals), None when there are none."""
    chosen: Finding | None = None
    for finding in findings:
        if chosen is None or _RANK[finding.level] > _RANK[chosen.level]:
            chosen = finding
    return chosen


class Parts:
    """The parts of one `mila run` process and whether each is usable: what /healthz and `mila_part_up` show."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics
        self._state: dict[str, Finding] = {}

    def report(self, part: str, findings: Iterable[Finding]) -> bool:
        """Record the checks of `part`; True when it may run (no error). A change is logged once."""
        found = [f for f in findings if f.part == part]
        state = worst(found) or ok(part, "ok")
        before = self._state.get(part)
        self._state[part] = state
        if self.metrics is not None:
            self.metrics.part_up.labels(part).set(0 if state.level is Level.ERROR else 1)
        if before is None or before.level != state.level or before.message != state.message:
            if state.level is Level.ERROR:
                log.error(f"{part} stopped: {state.message}", extra={"part": part, "advice": state.advice})
            elif state.level is Level.WARNING:
                log.warning(f"{part}: {state.message}", extra={"part": part, "advice": state.advice})
            elif before is not None:
                log.info(f"{part} works again", extra={"part": part})
        return state.level is not Level.ERROR

    def usable(self, part: str) -> bool:
        state = self._state.get(part)
        return state is None or state.level is not Level.ERROR

    def snapshot(self) -> dict[str, str]:
        return {part: finding.summary for part, finding in sorted(self._state.items())}

    @property
    def degraded(self) -> bool:
        return any(f.level is Level.ERROR for f in self._state.values())
