"""Where flows register what they handle: commands, button payloads, conversation states and typed intents.

Each module of `handlers/` owns one `Router` and the engine merges them, so a flow is written once and runs on
every channel. Payloads are `prefix` or `prefix:argument`; the prefix picks the handler, the handler validates the
argument (a user can forge any payload).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.incoming import Kind

if TYPE_CHECKING:
    from bot.core.turn import Turn

Handler = Callable[["Turn"], Awaitable[None]]
# A gate takes the turn before any dispatch while its slot is in the session (e.g. a human operator holds the
# conversation); it returns False to let the turn through after all (the slot was stale).
GateHandler = Callable[["Turn"], Awaitable[bool]]
# A recogniser reads typed text that is no button, keyword or answer to the current question and, when it knows the
# form (a request's reference "R-12345678"), names the payload that handles it; the payload's handler validates it.
Recogniser = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class StateSpec:
    handler: Handler
    accepts: frozenset[Kind]
    free_text: bool  # typed digits are data here (a code, a number), not a choice of the n-th button


@dataclass(frozen=True, slots=True)
class SessionStart:
    handler: Handler
    also_on: frozenset[Kind]  # events that run it in a session already going too (a (un)subscription)


@dataclass(frozen=True, slots=True)
class Intent:
    """A global action reachable by typing; `keywords` is a msgid whose translation lists words, split by |."""

    name: str
    keywords: str
    handler: Handler


class Router:
    def __init__(self) -> None:
        self.commands: dict[str, Handler] = {}
        self.payloads: dict[str, Handler] = {}
        self.states: dict[str, StateSpec] = {}
        self.intents: dict[str, Intent] = {}
        self.gates: dict[str, GateHandler] = {}
        self.session_starts: list[SessionStart] = []
        self.recognisers: list[Recogniser] = []
        # Payload prefixes whose buttons a typed word of their label does not pick: they change a setting that only
        # its own button (pressed, its number or its whole label typed) or a command may change (the news consent).
        self.explicit: set[str] = set()

    def command(self, *names: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for name in names:
                self._put(self.commands, name, handler, "command")
            return handler

        return register

    def payload(self, prefix: str, *, explicit: bool = False) -> Callable[[Handler], Handler]:
        if ":" in prefix:
            raise ValueError("a payload prefix has no colon")

        def register(handler: Handler) -> Handler:
            self._put(self.payloads, prefix, handler, "payload")
            if explicit:
                self.explicit.add(prefix)
            return handler

        return register

    def state(
        self, name: str, *, accepts: tuple[Kind, ...] = (Kind.TEXT,), free_text: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._put(self.states, name, StateSpec(handler, frozenset(accepts), free_text), "state")
            return handler

        return register

    def intent(self, name: str, keywords: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._put(self.intents, name, Intent(name, keywords, handler), "intent")
            return handler

        return register

    def gate(self, slot: str) -> Callable[[GateHandler], GateHandler]:
        """Register a gate for `session.extra[slot]`: checked on every turn, so it costs one dict lookup."""

        def register(handler: GateHandler) -> GateHandler:
            self._put(self.gates, slot, handler, "gate")
            return handler

        return register

    def session_start(self, handler: Handler, *, also_on: Collection[Kind] = ()) -> Handler:
        """Run on the first turn of every new session, before dispatch, in the order registered (the application
        registers the user's lasting profile first): what must outlive a Redis session (the language, a
        conversation held by an operator) is put back from the database here. `also_on`: kinds of event that run it
        in a session already going too."""
        self.session_starts.append(SessionStart(handler, frozenset(also_on)))
        return handler

    def recogniser(self, recognise: Recogniser) -> Recogniser:
        """Register what typed text of a known form stands for, wherever the user is (outside free-text answers)."""
        self.recognisers.append(recognise)
        return recognise

    def include(self, other: Router) -> None:
        self.session_starts.extend(other.session_starts)
        self.recognisers.extend(other.recognisers)
        self.explicit |= other.explicit
        for table, theirs, what in (
            (self.commands, other.commands, "command"),
            (self.payloads, other.payloads, "payload"),
            (self.states, other.states, "state"),
            (self.intents, other.intents, "intent"),
            (self.gates, other.gates, "gate"),
        ):
            for key, value in theirs.items():
                self._put(table, key, value, what)

    @staticmethod
    def _put(table: dict[str, Any], key: str, value: Any, what: str) -> None:
        if key in table:
            raise ValueError(f"{what} {key!r} is registered twice")
        table[key] = value
