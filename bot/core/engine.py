"""The engine runs one turn: lock and load the session, pick the handler, collect replies, save.

Dispatch order, most specific first: a start event; a /command; a button (pressed, or chosen by typing its number
or label); a typed keyword of a global intent ("meni", "pomoć", "operater", "menýu", "kömek"…); the handler of
the current state; text of a form a flow recognises (a request's reference); a localized "I did not understand"
with the options last shown. Whatever a user can cause — a stale or
forged button, a sticker, a 10,000-character text, an unknown command — gets a short answer and the way back.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.exc import SQLAlchemyError

from bot.core.answers import shipped, yes_or_no
from bot.core.i18n import N_, language_from_hint
from bot.core.incoming import Incoming, Kind
from bot.core.keywords import Keywords, has_run, words_of
from bot.core.records import Mark
from bot.core.replies import Button, Reply, Text, TurnReplies
from bot.core.router import Handler, Router
from bot.core.session import DatabaseDown, Session
from bot.core.text import fold
from bot.core.turn import CONFIRM_SLOT, Deps, Turn
from bot.core.understanding import OUT_OF_SCOPE, Model, Reading, model_for
from bot.core.understanding.labels import LABELS
from bot.core.understanding.masking import mask
from bot.db.models import UnderstandingEvent, UnderstandingOutcome
from bot.db.uow import UnitOfWork
from bot.profiles import Profile

log = logging.getLogger("mila.engine")

MENU_INTENT = "menu"
START_COMMAND = "start"
LANGUAGE_PAYLOAD = "lang"
MAX_REDIRECTS = 4
MAX_CHOICE_DIGITS = 2
MIN_WORDS_CHOICE = 2  # letters typed before words can pick a button: one letter is in too many labels
TRAIL_SLOT = "trail"  # session.extra: the user's last steps (button labels, commands), shown to an operator
TRAIL_LENGTH = 5
TRACEBACK_INTERVAL = 60.0  # seconds between two tracebacks of database errors in the log
CONVERSATION_SLOT = "conv"  # session.extra: {"id": the analytics' conversation row, "l": its language}


class StalePayload(Exception):
    """A button that is no longer valid, or was never ours: raised by handlers that validate a payload."""


# Notices of the core. Marked here, translated when said.
STALE_BUTTON = N_("That button belongs to an earlier conversation and no longer works. Here is the menu.")
UNKNOWN_COMMAND = N_("I don't know the command {command}. Here is what I can do.")
EMPTY_TEXT = N_("Your message is empty. Write a few words or choose one of the options.")
UNSUPPORTED = N_("I can only read text and the buttons I show. Please write your question in words.")
NOT_UNDERSTOOD = N_("I didn't understand that. Choose one of the options, or write for example “menu” or “operator”.")
PHONE_NOT_NEEDED = N_("Thank you, but I don't need a phone number right now.")
MENU_BUTTON = N_("⬅ Main menu")
MENU_OWN_PAYLOADS = frozenset({"language", "news", "help"})  # the main menu's last rows: shown together, it is the menu
DID_YOU_MEAN = N_("Did you mean:")
SECOND_MISS = N_("An operator can also help you with this.")
SECOND_MISS_CENTRE = N_("Our contact centre can also help you with this:")
# Translators: said in the language the user just wrote in; "this language" is that one (na srpskom, türkmen dilinde).
OFFER_LANGUAGE = N_("Shall we continue in this language?")
# Translators: the button under the question above, in the same language.
SWITCH_LANGUAGE = N_("Yes, switch to this language")
MISS_SLOT = "miss"  # session.extra: typed messages not understood in a row
YES_WORDS = frozenset({"da", "yes", "hawa"})  # the first word of a yes button's label, in every language
NO_WORDS = frozenset({"ne", "no", "yok"})
ACCOUNT_STEPS = ("acomp", "asusp", "afav", "adisc", "ainv", "aunbl")  # entry points of "my account"
FEATURE_INTENTS = ("reconnect", "services", "account", "consultations", "complaints", "operator", "contacts")
SOMETHING_WRONG = N_("Something went wrong on my side. I'm sorry — let's start again from the menu.")


def pseudonym(key: str) -> str:
    """A stable, non-reversible tag for logs: enough to follow one conversation, not to identify a person."""
    return hashlib.blake2b(key.encode(), digest_size=5).hexdigest()


def offered_intents(router: Router, profile: Profile) -> set[str]:
    """What the understanding step may route to in this deployment: the global intents of the features it
    offers, the account's actions, the request status, its consultation topics, small talk, yes and no."""
    offered = {name for name in router.intents if name not in FEATURE_INTENTS or name in profile.menu}
    if "account" in profile.menu:
        offered.update(step for step in ACCOUNT_STEPS if step in router.payloads)
    if "complaints" in profile.menu and "cstatus" in router.payloads:
        offered.add("cstatus")
    if "consultations" in profile.menu:
        offered.update(f"ctopic:{topic.code}" for topic in profile.consultations)
    if "talk" in router.payloads:
        offered.update({"talk:hello", "talk:thanks", "talk:bye", "talk:insult", "talk:robot"})
    if "code_word" in router.payloads:
        offered.add("code_word")
    return offered | {"yes", "no"}


class Engine:
    def __init__(self, deps: Deps, router: Router) -> None:
        for needed in (START_COMMAND,):
            if needed not in router.commands:
                raise ValueError(f"the router has no /{needed} handler")
        if MENU_INTENT not in router.intents:
            raise ValueError("the router has no menu intent")
        self.deps = deps
        self.router = router
        self.keywords = self._keyword_table()
        shipped().refuse_keywords(self.keywords)  # a typed "ne" at a question must not be a menu keyword elsewhere
        # A typed keyword or command runs the same handler as a button; with the button's payload, a flow that asks
        # for identification first carries on where the user was going ("hasabym" → identification → the accounts).
        self.payload_of = {id(handler): payload for payload, handler in router.payloads.items()}
        self._last_traceback = -TRACEBACK_INTERVAL
        self._understanding: Model | None = None

    def _keyword_table(self) -> Keywords:
        """Typed words → intent, over every language: a Turkmen user typing "meni" still gets the menu."""
        words: list[tuple[str, str]] = []
        for intent in self.router.intents.values():
            variants = [intent.keywords] + [self.deps.i18n.get(code).gettext(intent.keywords) for code in
                                            self.deps.i18n.codes]  # fmt: skip
            words += [(word, intent.name) for variant in variants for word in variant.split("|")]
        return Keywords(words)

    def _typed_intent(self, turn: Turn, folded: str) -> str | None:
        """A keyword's intent. Where the state reads typed text as data (a description, a name), only an exact
        keyword counts; elsewhere a typed digraph or a slip in a long word is forgiven (`bot.core.keywords`)."""
        spec = self.router.states.get(turn.session.state)
        if spec is not None and Kind.TEXT in spec.accepts:
            return self.keywords.get(folded)
        return self.keywords.forgiving(folded)

    async def handle(
        self, incoming: Incoming, *, numbered: Callable[[int], Awaitable[None]] | None = None
    ) -> TurnReplies:
        """Process one event of one user; raises `TurnNotRun` (`SessionBusy`, `SessionStoreDown`, `DatabaseDown`)
        when it could not be processed, so that the channel answers non-2xx and the platform delivers it again.
        `numbered` is awaited with the turn's number while the user's lock is still held (the channel claims the
        turn's place in the user's order there, see `bot.core.outbound.order`)."""
        async with self.deps.sessions.locked(incoming.user) as session:
            uow = UnitOfWork(self.deps.sessionmaker)
            turn = Turn(incoming, session, self.deps, uow)
            try:
                async with uow:
                    await self._prepare(turn)
                    if not await self._gated(turn):
                        self._remember_step(turn)
                        await self._dispatch(turn)
                    await self._follow_redirects(turn)
            except StalePayload:
                turn.outbox.items.clear()
                turn.marks.clear()  # rolled back: it did not happen
                turn.finish()
                await self._notice_and_menu(turn, STALE_BUTTON)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                # Raised out of the session lock, which then drops the session: nothing of this turn is kept.
                self._log_database_error(exc, incoming)
                raise DatabaseDown(type(exc).__name__) from None
            except Exception:
                log.exception("turn failed", extra={"user": pseudonym(incoming.user.key), "state": session.state})
                turn.outbox.items.clear()
                turn.marks.clear()  # rolled back: it did not happen
                turn.finish()
                await self._notice_and_menu(turn, SOMETHING_WRONG)
            await self._record(turn)
            session.last_active = self.deps.clock().timestamp()
            session.buttons = self._shown_buttons(turn.outbox.items)
            session.turns += 1  # saved with the session: the replies' place in the user's order
            if numbered is not None:
                await numbered(session.turns)
            return TurnReplies(list(turn.outbox.items), session.turns)

    @property
    def understanding(self) -> Model:
        """Fitted on first use (a few seconds per profile): commands that never read a typed sentence — a campaign,
        an import — don't pay for it; `mila run` and `mila chat` fit it before they take the first message."""
        if self._understanding is None:
            self._understanding = model_for(self.deps.profile, offered_intents(self.router, self.deps.profile))
        return self._understanding

    def _log_database_error(self, exc: BaseException, incoming: Incoming) -> None:
        """One line per failed turn with the error's class; a traceback at most once a minute, because during an
        outage every turn fails the same way and a traceback each (with its SQL) would flood the log."""
        now = time.monotonic()
        extra = {"user": pseudonym(incoming.user.key), "error": type(exc).__name__}
        if now - self._last_traceback >= TRACEBACK_INTERVAL:
            self._last_traceback = now
            # The frames, not the message: a driver's message carries the SQL statement and its parameters.
            extra["where"] = "".join(traceback.format_tb(exc.__traceback__))[-4000:]
        log.error("database error in a turn: not run", extra=extra)

    async def _record(self, turn: Turn) -> None:
        """The analytics' conversation row: started on the first turn of a session that says something, changed
        only in turns that changed it (the language, a mark), in a short transaction after the turn's own.

        A failure costs a figure, never the turn: it is logged and the reply goes out."""
        slot = turn.session.extra.get(CONVERSATION_SLOT)
        slot = slot if isinstance(slot, dict) and isinstance(slot.get("id"), int) else None
        language = turn.t.code
        if Mark.FORGOTTEN in turn.marks:
            return
        if slot is None and turn.incoming.kind in (Kind.SUBSCRIBED, Kind.UNSUBSCRIBED):
            return
        if slot is not None and slot.get("l") == language and not turn.marks:
            return
        marks = [Mark(m) for m in turn.marks]
        records = self.deps.conversations
        try:
            async with self.deps.sessionmaker() as db:
                if slot is not None:
                    conversation: int = slot["id"]
                    if not await records.update(db, conversation, at=turn.now, language=language, marks=marks):
                        turn.session.extra.pop(CONVERSATION_SLOT, None)
                        return
                else:
                    conversation = await records.start(
                        db, at=turn.now, profile=turn.profile.id, channel=turn.user.channel, language=language,
                        external_id=turn.user.external_id,
                    )  # fmt: skip
                    if marks:
                        await records.update(db, conversation, at=turn.now, marks=marks)
                await db.commit()
        except (SQLAlchemyError, OSError, TimeoutError):
            log.warning("conversation not recorded: database unavailable", extra={"user": pseudonym(turn.user.key)})
            return
        turn.session.extra[CONVERSATION_SLOT] = {"id": conversation, "l": language}

    # --- before dispatch ---------------------------------------------------------------------------------------
    async def _prepare(self, turn: Turn) -> None:
        session = turn.session
        incoming = turn.incoming
        for start in self.router.session_starts:
            if session.is_new or incoming.kind in start.also_on:
                await start.handler(turn)
        if session.lang is None:
            hinted = language_from_hint(incoming.language_hint, turn.profile.languages)
            if hinted:
                session.extra["hint"] = hinted
            turn.t = self.deps.i18n.get(session.extra.get("hint") or turn.profile.default_language)

    async def _gated(self, turn: Turn) -> bool:
        """A gate holds the conversation (a human operator): it takes the turn, the flows don't answer."""
        if turn.incoming.kind is Kind.SUBSCRIBED:
            return False
        for slot, gate in self.router.gates.items():
            if slot in turn.session.extra and await gate(turn):
                return True
        return False

    def _remember_step(self, turn: Turn) -> None:
        """What the user did, as the bot's own words (a button's label, a command, a keyword): an operator taking
        over sees the way the user came. Typed free text is not kept (it may be a code, a number, a name)."""
        incoming = turn.incoming
        step: str | None = None
        if incoming.kind is Kind.START:
            step = "/start"
        elif incoming.kind is Kind.BUTTON:
            step = next((label for payload, label in turn.session.buttons if payload == incoming.payload), None)
        elif incoming.kind is Kind.TEXT:
            text = incoming.text.strip()
            folded = fold(text)
            if text.startswith("/"):
                step = text.split(maxsplit=1)[0][:33]
            elif self._typed_intent(turn, folded) is not None:
                step = text[:40]
            else:
                payload = self._typed_choice(folded, turn.session.buttons, numbers=True)
                step = next((label for p, label in turn.session.buttons if p == payload), None) if payload else "✍"
        else:
            step = incoming.kind.value
        if step:
            trail = [*turn.session.extra.get(TRAIL_SLOT, []), step[:60]]
            turn.session.extra[TRAIL_SLOT] = trail[-TRAIL_LENGTH:]

    # --- dispatch -------------------------------------------------------------------------------------------------
    async def _dispatch(self, turn: Turn) -> None:
        incoming = turn.incoming
        session = turn.session
        kind = incoming.kind
        if kind in (Kind.UNSUBSCRIBED, Kind.SUBSCRIBED):
            return  # nothing to say: the user can't read it (unsubscribed) or gets the welcome on first message

        if self._timed_out(session, turn.now.timestamp()):
            session.reset_flow()
            session.buttons = []
            minutes = max(1, self.deps.settings.idle_timeout_seconds // 60)
            turn.say(
                turn.ngettext(
                    "We stopped where we were because nothing happened for {count} minute. "
                    "Let's start again from the menu.",
                    "We stopped where we were because nothing happened for {count} minutes. "
                    "Let's start again from the menu.",
                    minutes,
                ).format(count=minutes)
            )
            if not self._is_global(turn):
                await self.show_menu(turn)
                return

        if kind is Kind.START:
            await self.router.commands[START_COMMAND](turn)
            return
        if session.lang is None and not self._is_language_choice(turn):
            await self.router.commands[START_COMMAND](turn)
            return

        if kind is Kind.BUTTON:
            await self._dispatch_payload(turn, incoming.payload)
            return
        if kind is Kind.TEXT:
            await self._dispatch_text(turn)
            return

        spec = self.router.states.get(session.state)
        if spec is not None and kind in spec.accepts:
            await spec.handler(turn)
        elif kind is Kind.CONTACT:
            await self._notice_and_menu(turn, PHONE_NOT_NEEDED)
        else:
            await self._notice_and_menu(turn, UNSUPPORTED)

    async def _dispatch_text(self, turn: Turn) -> None:
        text = turn.incoming.text.strip()
        session = turn.session
        if not text:
            await self._ask_again(turn, turn._(EMPTY_TEXT))
            return
        limit = self.deps.settings.max_text_length
        if len(text) > limit:
            too_long = turn.ngettext(
                "Your message has {length} character; I can read at most {limit}. Please shorten it and send it again.",
                "Your message has {length} characters; I can read at most {limit}. "
                "Please shorten it and send it again.",
                len(text),
            )
            await self._ask_again(turn, too_long.format(length=turn.t.number(len(text)), limit=turn.t.number(limit)))
            return
        if text.startswith("/"):
            command = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(text) > 1 else ""
            handler = self.router.commands.get(command)
            if handler is None:
                await self._notice_and_menu(turn, UNKNOWN_COMMAND, command="/" + command[:32])
            else:
                # "/news off" runs the button "news:off": the first word after a command is its payload's argument
                # (the handler validates it, as it does a pressed button's).
                target = self.payload_of.get(id(handler), "")
                words = text.split()
                if target and len(words) > 1 and re.fullmatch(r"[a-z0-9]{1,16}", argument := words[1].lower()):
                    target += ":" + argument
                turn.payload = target
                await handler(turn)
            return
        misses = int(session.extra.pop(MISS_SLOT, 0))  # in a row: anything understood in between starts again
        folded = fold(text)
        spec = self.router.states.get(session.state)
        payload = self._typed_choice(
            folded, session.buttons, numbers=not (spec and spec.free_text), explicit=self.router.explicit
        )
        if payload is None:
            payload = self._typed_language(text, session.buttons) or self._typed_answer(turn)
        if payload is not None:
            await self._dispatch_payload(turn, payload)
            return
        intent = self._typed_intent(turn, folded)
        if intent is not None:
            handler = self.router.intents[intent].handler
            turn.payload = self.payload_of.get(id(handler), "")
            await handler(turn)
            return
        if spec is not None and Kind.TEXT in spec.accepts:
            await spec.handler(turn)
            return
        for recognise in self.router.recognisers:
            if (recognised := recognise(text)) is not None:
                await self._dispatch_payload(turn, recognised)
                return
        if self._shared_by_buttons(folded, session.buttons):
            await self._ask_again(turn, turn._(NOT_UNDERSTOOD))  # words of two buttons shown: neither, and no guess
            return
        await self._understand(turn, text, misses)

    # --- sentences -------------------------------------------------------------------------------------------------
    async def _understand(self, turn: Turn, text: str, misses: int) -> None:
        """A sentence that is no button, keyword or data: run what it means, ask which of two it means, or say it
        was not understood (the second time in a row, with the operator or the contact centre)."""
        reading = self.understanding.read(text)
        best = reading.best
        if best in ("yes", "no") and reading.confident:
            answer = self._yes_no_button(turn.session.buttons, yes=best == "yes")
            if answer is not None:
                await self._dispatch_payload(turn, answer)
                return
        if reading.confident and best not in ("yes", "no"):
            offer = self._language_offer(turn, reading)
            await self._record_understanding(
                turn, reading, UnderstandingOutcome.OTHER_LANGUAGE if offer else UnderstandingOutcome.ROUTED
            )
            await self._run(turn, best or "", reading)
            if offer:
                switch = self.deps.i18n.get(offer)
                turn.say(
                    switch.gettext(OFFER_LANGUAGE),
                    [[Button(switch.gettext(SWITCH_LANGUAGE), f"{LANGUAGE_PAYLOAD}:{offer}")]],
                )
            return
        candidates = [c for c in reading.candidates if c not in ("yes", "no", OUT_OF_SCOPE)]
        buttons = [b for b in (self._candidate_button(turn, c, reading) for c in candidates) if b is not None]
        if len(buttons) == 2:
            await self._record_understanding(turn, reading, UnderstandingOutcome.CLARIFIED)
            turn.say(turn._(DID_YOU_MEAN), [[b] for b in buttons] + [[self._menu_button(turn)]])
            return
        await self._record_understanding(turn, reading, UnderstandingOutcome.NOT_UNDERSTOOD)
        turn.session.extra[MISS_SLOT] = misses + 1
        if not misses:
            await self._ask_again(turn, turn._(NOT_UNDERSTOOD))
            return
        # The second in a row: today's answer with its options, and a person who can help.
        profile = turn.profile
        if "operator" in profile.menu and "operator" in self.router.payloads:
            operator = Button(turn._(LABELS["operator"]), "operator")
            if not any(payload == "operator" for payload, _label in turn.session.buttons):
                turn.session.buttons = [["operator", operator.label], *turn.session.buttons]
            await self._ask_again(turn, turn._(NOT_UNDERSTOOD) + "\n" + turn._(SECOND_MISS))
            return
        centre = profile.contact_centre
        notice = turn._(SECOND_MISS_CENTRE) + "\n" + f"{turn.content(centre.label)}: {centre.number}"
        await self._ask_again(turn, turn._(NOT_UNDERSTOOD) + "\n" + notice)

    def _step(self, turn: Turn, intent: str, reading: Reading) -> str:
        """The payload that takes the user where the sentence points: the step it names when it names one."""
        step = self.understanding.step(intent, reading, tuple(turn.profile.languages))
        if step is not None and step.partition(":")[0] in self.router.payloads:
            return step
        if intent in self.router.intents:
            return self.payload_of.get(id(self.router.intents[intent].handler), "")
        return intent

    async def _run(self, turn: Turn, intent: str, reading: Reading) -> None:
        payload = self._step(turn, intent, reading)
        turn.named = reading.entities
        if payload:
            await self._dispatch_payload(turn, payload)
            return
        handler = self.router.intents[intent].handler  # a global intent without a button (/forget)
        turn.payload = ""
        await handler(turn)

    def _candidate_button(self, turn: Turn, intent: str, reading: Reading) -> Button | None:
        payload = self._step(turn, intent, reading)
        if not payload:
            return None
        if intent.startswith("ctopic:"):
            topic = next((t for t in turn.profile.consultations if f"ctopic:{t.code}" == intent), None)
            return Button(turn.content(topic.title), payload) if topic else None
        label = LABELS.get(intent)
        return Button(turn._(label), payload) if label else None

    def _language_offer(self, turn: Turn, reading: Reading) -> str | None:
        """The language to offer when the sentence is clearly in another of the profile's languages."""
        current = (turn.session.lang or turn.profile.default_language).split("-")[0]
        if reading.language is None or reading.language == current or reading.language not in turn.profile.languages:
            return None
        return reading.language

    @staticmethod
    def _yes_no_button(buttons: list[list[str]], *, yes: bool) -> str | None:
        """The button a typed "može" / "ne hvala" means: the one whose label says yes (no); for no, the way back."""
        words = YES_WORDS if yes else NO_WORDS
        for payload, label in buttons:
            first = words_of(fold(label))[:1]
            if first and first[0] in words:
                return payload
        if not yes:
            return next((payload for payload, label in buttons if label.startswith("⬅")), None)
        return None

    async def _record_understanding(self, turn: Turn, reading: Reading, outcome: UnderstandingOutcome) -> None:
        """A row for the operator's learning loop (`mila nlu report`): only what was not understood outright."""
        if outcome is UnderstandingOutcome.ROUTED:
            return
        await self.deps.conversations.understanding(
            turn.db,
            turn.user,
            UnderstandingEvent(
                profile=turn.profile.id,
                channel=turn.user.channel[:16],
                language=(turn.session.lang or turn.profile.default_language)[:8],
                outcome=outcome.value,
                intent=reading.best,
                confidence=reading.ranked[0][1] if reading.ranked else None,
                text_masked=mask(turn.incoming.text)[:200],
            ),
        )

    async def _dispatch_payload(self, turn: Turn, payload: str) -> None:
        prefix, _, _arg = payload.partition(":")
        handler: Handler | None = self.router.payloads.get(prefix)
        if handler is None:
            raise StalePayload(prefix)
        turn.payload = payload
        await handler(turn)

    async def _follow_redirects(self, turn: Turn) -> None:
        """A handler may hand the turn on to another payload's handler; a loop of hand-offs is a bug, so it stops."""
        for _ in range(MAX_REDIRECTS):
            payload, turn.redirect_to = turn.redirect_to, None
            if payload is None:
                return
            await self._dispatch_payload(turn, payload)
        raise RuntimeError("too many redirects in one turn")

    # --- helpers ---------------------------------------------------------------------------------------------------
    def _timed_out(self, session: Session, now: float) -> bool:
        if not session.state or not session.last_active:
            return False
        return now - session.last_active > self.deps.settings.idle_timeout_seconds

    def _is_global(self, turn: Turn) -> bool:
        incoming = turn.incoming
        if incoming.kind is Kind.START:
            return True
        if incoming.kind is Kind.TEXT:
            text = incoming.text.strip()
            return text.startswith("/") or self._typed_intent(turn, fold(text)) is not None
        return False

    @staticmethod
    def _is_language_choice(turn: Turn) -> bool:
        incoming = turn.incoming
        if incoming.kind is Kind.BUTTON:
            return incoming.payload.partition(":")[0] == LANGUAGE_PAYLOAD
        if incoming.kind is Kind.TEXT:
            buttons = turn.session.buttons
            chosen = Engine._typed_choice(fold(incoming.text), buttons, numbers=True)
            chosen = chosen or Engine._typed_language(incoming.text, buttons) or ""
            return chosen.startswith(LANGUAGE_PAYLOAD + ":")
        return False

    @staticmethod
    def _typed_choice(
        folded: str, buttons: list[list[str]], *, numbers: bool, explicit: Collection[str] = ()
    ) -> str | None:
        """A typed "2" picks the second button shown; a typed label picks that button; so do the words of one
        label alone ("da" for "Da, uključi", "hawa" for "Hawa, birikdir", "7 dana" for "na 7 dana", "broj telefona"
        for "Brojem telefona") when no other button has them ("paket" picks neither "Internet paket" nor "SMS
        paketi"). Where typed text is data (`numbers=False`: a number, a code), text with digits picks nothing but a
        whole label. A button of an `explicit` payload prefix is picked by its number or its whole label only:
        "novosti" typed at the news question is not "Da, šaljite mi novosti"."""
        if not buttons:
            return None
        # Where digits are data (a code, a number), only a one- or two-digit number can be a button's: no customer
        # code, one-time code or phone number is that short, and a user typing "2" means the second button.
        if folded.isdigit() and (numbers or len(folded) <= MAX_CHOICE_DIGITS):
            index = int(folded) - 1
            return buttons[index][0] if 0 <= index < len(buttons) else None
        for payload, label in buttons:
            if fold(label) == folded:
                return payload
        typed = words_of(folded)
        if not typed or len("".join(typed)) < MIN_WORDS_CHOICE or (not numbers and any(w.isdigit() for w in typed)):
            return None
        having = {
            payload
            for payload, label in buttons
            if has_run(words_of(fold(label)), typed) and payload.partition(":")[0] not in explicit
        }
        return having.pop() if len(having) == 1 else None

    @staticmethod
    def _typed_language(text: str, buttons: list[list[str]]) -> str | None:
        """ "srpski" at the language question, in the words of two buttons (Latin and Cyrillic script), is the one
        written in the script it was typed in: "srpski" Latin, "српски" Cyrillic."""
        typed = words_of(fold(text))
        if not typed:
            return None
        languages = [
            (payload, label)
            for payload, label in buttons
            if payload.startswith(LANGUAGE_PAYLOAD + ":") and has_run(words_of(fold(label)), typed)
        ]
        if len(languages) < 2:
            return None
        cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in text)
        same_script = [p for p, label in languages if any("\u0400" <= ch <= "\u04ff" for ch in label) == cyrillic]
        return same_script[0] if len(same_script) == 1 else None

    @staticmethod
    def _typed_answer(turn: Turn) -> str | None:
        """A typed yes or no ("ne hvala", "gerek däl") picks that button of the confirmation still shown."""
        asked = turn.session.extra.get(CONFIRM_SLOT)
        answer = yes_or_no(turn.incoming.text)
        if answer is None or not isinstance(asked, list) or len(asked) != 2:
            return None
        shown = {payload for payload, _label in turn.session.buttons}
        chosen = asked[0] if answer else asked[1]
        return chosen if isinstance(chosen, str) and chosen in shown else None

    @staticmethod
    def _shared_by_buttons(folded: str, buttons: list[list[str]]) -> bool:
        """Words that stand in two or more of the buttons shown ("paket" of "Internet paket" and "SMS paketi")."""
        typed = words_of(folded)
        if not typed or len("".join(typed)) < MIN_WORDS_CHOICE:
            return False
        return sum(1 for _payload, label in buttons if has_run(words_of(fold(label)), typed)) > 1

    @staticmethod
    def _shown_buttons(replies: list[Reply]) -> list[list[str]]:
        for reply in reversed(replies):
            if isinstance(reply, Text) and reply.buttons:
                return [[b.payload, b.label] for b in reply.all_buttons() if b.payload is not None]
        return []

    @staticmethod
    def _menu_button(turn: Turn) -> Button:
        """The way back; the flow's own state is kept, so the user may also just send a shorter text."""
        return Button(turn._(MENU_BUTTON), MENU_INTENT)

    async def show_menu(self, turn: Turn) -> None:
        await self.router.intents[MENU_INTENT].handler(turn)

    async def _ask_again(self, turn: Turn, notice: str) -> None:
        """A reply the bot can't use gets the notice and the options last shown, so the user goes on where they
        were (a page of services, a confirmation, a category); with nothing shown, the menu."""
        shown = [Button(label, payload) for payload, label in turn.session.buttons]
        if not shown:
            turn.say(notice)
            await self.show_menu(turn)
            return
        is_menu = {payload for payload, _label in turn.session.buttons} >= MENU_OWN_PAYLOADS
        if not is_menu and not any(button.payload == MENU_INTENT for button in shown):
            shown.append(self._menu_button(turn))
        turn.say(notice, [[button] for button in shown])

    async def _notice_and_menu(self, turn: Turn, notice: str, **values: str) -> None:
        turn.say(turn._(notice).format(**values) if values else turn._(notice))
        await self.show_menu(turn)
