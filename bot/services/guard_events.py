"""What the identification guards did, told to whoever listens (`mila run` counts it in `/metrics`).

The guards (bot.services.lockout, bot.services.code_quota) name each thing they do with one word — a failure, a
refusal, a lock, an alarm — and never a user, number or code, so a listener can count them as metric labels.
Listening is optional: a guard without listeners (tests, the console) just does its work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("mila.guards")

Listener = Callable[[str], None]


class GuardEvents:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def __call__(self, event: str) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # counting must never break identification
                log.exception("a guard event listener failed")
