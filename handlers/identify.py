"""Identification in the chat, the way each operator identifies a caller (see the profile's `identification`).

- rs ("Brojem telefona / Šifrom korisnika"): a phone number the messenger vouches for identifies its owner at
  once; a typed number, someone else's contact or a customer code gets a one-time code by SMS.
- tm: the phone number plus the code word ("kod sözi"), or plus the full name and passport data.

Against guessing: a try is reserved before the secret is compared, and counted per subscriber and per chat, with
lockouts (bot.services.lockout); codes are limited per number, per chat and in total when they are asked for
(bot.services.code_quota). An unknown number or code and a known one go through the same steps (the same queries,
hashes and SMS task, which sends nothing for nobody's number), so neither the answer nor its time tells them
apart; nothing secret is kept in the session or written to a log. A flow that needs identification calls
`require_identity` and is resumed, with what the user chose, once identification succeeds.

What was given stays while it can: a wrong secret asks for that answer again (the method and the number stay)
until the lockout; a step-up and "send a new code" send the code at once to where it goes, never asking the
method and the number again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
from datetime import datetime, timedelta

from bot.core.engine import NOT_UNDERSTOOD, pseudonym
from bot.core.i18n import N_
from bot.core.ids import parse_id
from bot.core.incoming import Kind
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.core.understanding.entities import Entities
from bot.services import identity
from bot.services.analytics import Mark
from bot.services.backend import SubscriberInfo
from bot.services.otp import CodeCheck
from bot.services.phones import BadPhone, can_receive_sms, mask_phone, normalize_phone
from bot.services.sms import SmsGateway
from handlers.common import RESUME_SLOT, contact_centre_line, menu_button
from handlers.menu import show_menu

log = logging.getLogger("mila.identify")
router = Router()

RESUME = RESUME_SLOT

METHOD_LABELS = {
    "phone": N_("By phone number"),
    "customer_code": N_("By customer code"),
    "phone_code_word": N_("Phone number and code word"),
    "phone_name_passport": N_("Phone number, full name and passport"),
}
METHOD_PAYLOADS = {"phone": "idm:phone", "customer_code": "idm:code", "phone_code_word": "idm:word",
                   "phone_name_passport": "idm:pass"}  # fmt: skip
PAYLOAD_METHODS = {v.partition(":")[2]: k for k, v in METHOD_PAYLOADS.items()}


# --- what other flows call ------------------------------------------------------------------------------------
async def require_identity(turn: Turn, *, fresh: bool = False) -> identity.Identity | None:
    """The identified subscriber, or None after starting identification that will resume `turn.payload`."""
    who = identity.current(turn)
    if who is not None and (not fresh or identity.is_fresh(turn, who)):
        return who
    turn.session.extra[RESUME] = turn.payload or None
    if who is None:
        await start_identification(turn)
        return None
    turn.say(turn._("For this I need to confirm once more that it's you."))
    await _step_up(turn, who)
    return None


SECRET_METHODS = {"code_word": "phone_code_word", "name_passport": "phone_name_passport"}
CODE_METHODS = ("phone", "customer_code")


async def _step_up(turn: Turn, who: identity.Identity) -> None:
    """Who it is is known, so neither the method nor the number is asked again. Where the operator identifies by
    a secret (tm), that secret is asked for again, for this subscriber; where by a one-time code (rs), the code
    goes at once to the number on file. Only a subscriber with no such number is asked the usual way."""
    tag = identity.lockout_tag(turn, who.subscriber_id, str(who.subscriber_id))
    if await _locked_out(turn, tag):
        return
    secret = SECRET_METHODS.get(who.method)
    if secret in turn.profile.identification:
        _ask_secret(turn, str(secret), tag, who.subscriber_id)
        return
    if any(method in CODE_METHODS for method in turn.profile.identification):
        found = await _subscriber(turn, who.subscriber_id)
        phone = await _sms_number(turn, found)
        if found is not None and phone is not None:
            turn.session.data = {"m": turn.profile.identification[0]}
            await _send_code(turn, phone, found, lockout_tag=tag, asked=phone, advice="file")
            return
    await start_identification(turn)


async def start_identification(turn: Turn) -> None:
    if await _locked_out(turn, None):
        return
    methods = turn.profile.identification
    named, turn.named = turn.named, None  # what the sentence gave answers the first question once, not again
    if named is not None and await _answered_by_the_sentence(turn, named):
        return
    if len(methods) == 1:
        await _begin(turn, methods[0])
        return
    turn.goto("id:method")
    question = turn._("To continue, I need to know who you are. How would you like to identify yourself?")
    if needed := turn.profile.texts.get("identification"):  # what the operator asks for, in its own words
        question += "\n" + turn.content(needed)
    turn.say(
        question,
        [[Button(turn._(METHOD_LABELS[m]), METHOD_PAYLOADS[m])] for m in methods] + [[_cancel(turn)]],
    )


async def _answered_by_the_sentence(turn: Turn, named: Entities) -> bool:
    """A sentence that asked for something and gave a number ("moj broj je 064 1234567, pokažite mi račun") has
    answered the method and the number questions: the number goes on as if typed at them (a one-time code or the
    secret follows; a typed number is never proof of anything)."""
    methods = turn.profile.identification
    phone_method = next((m for m in methods if m != "customer_code"), None)
    if named.phone and phone_method is not None:
        turn.goto("id:phone", m=phone_method)
        await _number_given(turn, named.phone, vouched=False)
        return True
    if named.account and "customer_code" in methods:
        turn.goto("id:code", m="customer_code")
        await _customer_code(turn, named.account)
        return True
    return False


# --- method choice -------------------------------------------------------------------------------------------
@router.payload("idm")
async def choose_method(turn: Turn) -> None:
    method = PAYLOAD_METHODS.get(turn.arg)
    if method is None or method not in turn.profile.identification:
        await start_identification(turn)
        return
    await _begin(turn, method)


async def _begin(turn: Turn, method: str) -> None:
    if method == "customer_code":
        turn.goto("id:code", m=method)
        turn.say(
            turn._(
                "Type your customer code: the digits before the slash on your bill "
                "(for example 1234567 from 1234567/1)."
            ),
            [[_cancel(turn)]],
        )
        return
    turn.goto("id:phone", m=method)
    text = turn._("Share your number with the button below, or type the number you want to identify with.")
    if method == "phone_code_word":
        text += "\n" + turn._("After the number I will ask for your code word.")
    elif method == "phone_name_passport":
        text += "\n" + turn._("After the number I will ask for the owner's full name and passport data.")
    turn.say(text, [[_cancel(turn)]], share_phone=turn._("📱 Share my number"))


@router.state("id:method", accepts=(Kind.TEXT, Kind.CONTACT), free_text=True)
async def typed_instead_of_choosing(turn: Turn) -> None:
    """A phone number or a customer code typed at the method question, or the number shared with the messenger's
    button, is taken as the choice it implies."""
    methods = turn.profile.identification
    phone_method = next((m for m in methods if m != "customer_code"), None)
    if turn.incoming.kind is Kind.CONTACT:
        if phone_method is None:
            await start_identification(turn)
            return
        turn.goto("id:phone", m=phone_method)
        await phone_given(turn)
        return
    text = turn.incoming.text.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    looks_like_code = "customer_code" in methods and text.replace("/", "").replace(" ", "").isdigit() and len(
        digits
    ) <= 9 and not text.startswith(("+", "0"))  # fmt: skip
    if looks_like_code:
        turn.goto("id:code", m="customer_code")
        await customer_code_given(turn)
        return
    if phone_method is not None and len(digits) >= 6:
        turn.goto("id:phone", m=phone_method)
        await phone_given(turn)
        return
    turn.say(turn._(NOT_UNDERSTOOD))
    await start_identification(turn)


@router.payload("idcancel")
async def cancel(turn: Turn) -> None:
    turn.session.extra.pop(RESUME, None)
    turn.finish()
    turn.say(turn._("Identification cancelled."))
    await show_menu(turn)


# --- the phone number ---------------------------------------------------------------------------------------------
@router.state("id:phone", accepts=(Kind.TEXT, Kind.CONTACT), free_text=True)
async def phone_given(turn: Turn) -> None:
    raw = turn.incoming.phone if turn.incoming.kind is Kind.CONTACT else turn.incoming.text
    await _number_given(turn, raw, vouched=turn.incoming.kind is Kind.CONTACT and turn.incoming.phone_is_own)


async def _number_given(turn: Turn, raw: str | None, *, vouched: bool) -> None:
    method = turn.session.data.get("m", "phone")
    try:
        phone = normalize_phone(raw or "", turn.profile.country)
    except BadPhone:
        turn.say(
            turn._("That doesn't look like a phone number. Type it with the area code, for example {example}.")
            .format(example=_example_number(turn)),
            [[_cancel(turn)]],
        )  # fmt: skip
        return
    if await _locked_out(turn, None):  # the chat; the subscriber is checked once we know who it is
        return
    found = await identity.backend(turn).find_by_phone(phone, actor=turn.user)
    tag = identity.lockout_tag(turn, found.id if found else None, phone)
    if await _locked_out(turn, tag):  # the same checks whether or not the number is ours
        return
    if method == "phone":
        if vouched:
            if found is None:
                turn.say(
                    turn._("This number is not registered to any of our subscribers. You can identify yourself with "
                           "your customer code instead."),
                )  # fmt: skip
                await start_identification(turn)
                return
            await _identified(turn, found, "phone_vouched", tag)
            return
        if can_receive_sms(phone):
            await _send_code(turn, phone, found, lockout_tag=tag, asked=phone, advice="number")
        else:
            await _code_for_a_fixed_line(turn, phone, found, tag)
        return
    # tm: the number is only the first half; the secret comes next.
    _ask_secret(turn, method, tag, found.id if found else 0)


def _ask_secret(turn: Turn, method: str, tag: str, subscriber_id: int, *, again: bool = False) -> None:
    """The question for the secret of `method` about the subscriber behind `tag` (0: nobody's number, asked the
    same way); `again` after a wrong answer, with a way to give another number."""
    turn.goto("id:word" if method == "phone_code_word" else "id:name", m=method, tag=tag, sub=subscriber_id)
    if again:
        text = turn._("The number and the details you gave don't match our records.") + "\n"
        text += (
            turn._("Type the code word again.")
            if method == "phone_code_word"
            else turn._("Type the owner's full name again, as written in the passport; the passport data comes next.")
        )
        turn.say(text, [*_what_code_word(turn, method), [Button(turn._("Another number"), "idnum")], [_cancel(turn)]])
        return
    if method == "phone_code_word":
        where = turn.profile.texts.get("code_word_where")
        text = turn._("Now type your code word. Letters such as ä, ş or ý may be typed as a, s or y.")
        if where:
            text += "\n" + turn.content(where)
        turn.say(text, [*_what_code_word(turn, method), [_cancel(turn)]])
    else:
        turn.say(
            turn._("Now type the owner's full name as written in the passport."),
            [[_cancel(turn)]],
        )


def _what_code_word(turn: Turn, method: str) -> list[list[Button]]:
    """At the code-word question, the way to the operator's own text about code words (where the profile has it)."""
    if method != "phone_code_word" or "code_word" not in turn.profile.texts:
        return []
    return [[Button(turn._("❓ What is a code word?"), "idword")]]


@router.payload("idword")
async def what_a_code_word_is(turn: Turn) -> None:
    """The operator's text about code words, then the same question again: the state, the number and the tries
    left stay as they were. Pressed anywhere else, the same text on its own."""
    text = turn.profile.texts.get("code_word")
    if turn.session.state != "id:word" or text is None:
        turn.redirect("code_word")
        return
    turn.say(
        turn.content(text) + "\n\n" + turn._("Now type your code word. Letters such as ä, ş or ý may be typed as a, "
                                               "s or y."),
        [*_what_code_word(turn, "phone_code_word"), [_cancel(turn)]],
    )  # fmt: skip


@router.payload("idnum")
async def another_number(turn: Turn) -> None:
    """The number may have been the wrong part: the same method, with another number."""
    method = str(turn.session.data.get("m", ""))
    if method not in turn.profile.identification:
        await start_identification(turn)
        return
    await _begin(turn, method)


async def _code_for_a_fixed_line(turn: Turn, phone: str, found: SubscriberInfo | None, tag: str) -> None:
    """A fixed line can't receive SMS: the code goes to a mobile number on file, as for a customer code. A
    subscriber with none is told how else to identify. So that neither answer tells a subscriber's line from an
    unknown number, an unknown one gets a made-up mobile number or, for a stable share of them, the same advice."""
    mobile = await _sms_number(turn, found)
    share = _keyed_number(turn, "fixed:" + phone)
    no_mobile = mobile is None if found else share % _NO_MOBILE_SHARE == 0
    if no_mobile:
        turn.say(
            turn._("A fixed line can't receive SMS, and there is no mobile number I could send the code to "
                   "instead. You can choose another way below, or our contact centre will identify you:")
            + "\n" + contact_centre_line(turn)
        )  # fmt: skip
        await start_identification(turn)
        return
    turn.say(turn._("A fixed line can't receive SMS, so the code goes to the mobile number on file."))
    shown = _masked_or_decoy(turn, mobile, phone)
    await _send_code(turn, mobile, found, lockout_tag=tag, asked=phone, advice="number", shown=shown)


_NO_MOBILE_SHARE = 4  # one unknown fixed number in this many looks like a subscriber without a mobile number


# --- customer code -----------------------------------------------------------------------------------------------
@router.state("id:code", free_text=True)
async def customer_code_given(turn: Turn) -> None:
    await _customer_code(turn, turn.incoming.text)


async def _customer_code(turn: Turn, typed: str) -> None:
    code = "".join(typed.split()).split("/", 1)[0]
    if not code.isdigit() or not 4 <= len(code) <= 16:
        turn.say(turn._("A customer code has only digits, for example 1234567. Please type it again."),
                 [[_cancel(turn)]])  # fmt: skip
        return
    if await _locked_out(turn, None):
        return
    found = await identity.backend(turn).find_by_customer_code(code, actor=turn.user)
    tag = identity.lockout_tag(turn, found.id if found else None, "code:" + code)
    if await _locked_out(turn, tag):
        return
    phone = await _sms_number(turn, found)
    shown = _masked_or_decoy(turn, phone, code)
    await _send_code(turn, phone, found, lockout_tag=tag, asked="code:" + code, advice="code", shown=shown)


async def _sms_number(turn: Turn, subscriber: SubscriberInfo | None) -> str | None:
    """Where the code goes for a customer code or a fixed line: the contact number on file if it takes SMS, else
    the first line's number that does. The lines are read whether or not there is a subscriber (id 0 has none),
    so an unknown code costs the same query as a known one."""
    lines = await identity.backend(turn).line_phones(subscriber.id if subscriber else 0)
    candidates = [subscriber.contact_phone, *lines] if subscriber else []
    return next((p for p in candidates if p and can_receive_sms(p)), None)


def _masked_or_decoy(turn: Turn, phone: str | None, typed: str) -> str:
    """The masked number on file; for an unknown code, a stable made-up one, so the answer does not tell. The
    made-up one is worked out every time, so it takes as long either way."""
    example = normalize_phone(_example_number(turn), turn.profile.country)
    decoy = example[:-2] + str(_keyed_number(turn, typed) % 100).zfill(2)
    return mask_phone(phone or decoy)


def _keyed_number(turn: Turn, typed: str) -> int:
    """A number derived from what was typed with the secret key: stable for it, unpredictable without the key."""
    return int(_keyed(turn, typed)[:4], 16)


def _keyed(turn: Turn, text: str) -> str:
    """A keyed hash of `text`: what may wait in the session where the text itself must not."""
    return hmac.new(turn.deps.secret, text.encode(), hashlib.sha256).hexdigest()[:32]


# --- one-time code ------------------------------------------------------------------------------------------------
NO_SMS_ADVICE = {  # what to do if no SMS comes, by what was typed: the same for a subscriber's and nobody's
    "number": N_("If no SMS comes within a few minutes, check the number you typed and ask for a new code. "
                 "You can also call us:"),
    "code": N_("If no SMS comes within a few minutes, check the customer code you typed and ask for a new code. "
               "You can also call us:"),
    "file": N_("If no SMS comes within a few minutes, ask for a new code. You can also call us:"),
}  # fmt: skip


async def _send_code(
    turn: Turn,
    phone: str | None,
    found: SubscriberInfo | None,
    *,
    lockout_tag: str,
    asked: str,
    advice: str,
    shown: str | None = None,
) -> None:
    """A code for what was `asked` (the number or "code:<customer code>" typed), by SMS to `phone` when it is a
    subscriber's; for nobody's, the same steps and answer, and nothing is sent. What "send a new code" needs waits
    in the session as keyed hashes (what was asked, where the code went), the subscriber's id (0 for nobody's)
    and the masked number shown: never the number itself."""
    awaiting = {
        "tag": lockout_tag,
        "m": turn.session.data.get("m"),
        "q": turn.deps.code_quota.tag(asked),
        "sub": found.id if found is not None else 0,
        "to": _keyed(turn, "to:" + (phone or asked)),
        "shown": shown or (mask_phone(phone) if phone else "•••"),
        "advice": advice,
    }
    await _code_to(turn, phone if found is not None else None, found, awaiting)


async def _code_to(turn: Turn, phone: str | None, found: SubscriberInfo | None, awaiting: dict[str, object]) -> None:
    """Count the request, make the code and send it in the background, and say where it went and what to do if
    it does not come; the state awaits the code with what a new one needs."""
    codes = turn.deps.otp
    subject = str(found.id) if found is not None and phone else ""
    wait = await turn.deps.code_quota.take(turn.user, str(awaiting["q"]), sends=bool(subject))
    turn.goto("id:otp", **awaiting)
    if wait:
        _codes_paused(turn, wait)
        return
    code = await codes.issue(turn.user, subject)
    _deliver_later(turn, phone if subject else None, _sms_text(turn, code))
    minutes = max(1, codes.ttl_seconds // 60)
    sent = turn.ngettext(
        "I sent a one-time code by SMS to {phone}. Type it here; it is valid for {count} minute.",
        "I sent a one-time code by SMS to {phone}. Type it here; it is valid for {count} minutes.",
        minutes,
    ).format(phone=awaiting["shown"], count=minutes)
    turn.say(sent + "\n" + _no_sms_advice(turn, str(awaiting["advice"])), _code_buttons(turn))


def _no_sms_advice(turn: Turn, advice: str) -> str:
    """What to do if no SMS comes, with every number of the profile to call."""
    lines = [turn._(NO_SMS_ADVICE.get(advice, NO_SMS_ADVICE["file"])), contact_centre_line(turn)]
    for phone in turn.profile.phones:
        lines.append(turn._("{label}: {number}").format(label=turn.content(phone.label), number=phone.number))
    return "\n".join(lines)


def _code_buttons(turn: Turn) -> list[list[Button]]:
    """What the user can do instead of typing the code: ask for a new one, give another number or customer code
    (a new code goes where the last one went), or give up."""
    other = (
        turn._("Another customer code") if turn.session.data.get("m") == "customer_code" else turn._("Another number")
    )
    return [[Button(turn._("Send a new code"), "idresend")], [Button(other, "idnum")], [_cancel(turn)]]


def _sms_text(turn: Turn, code: str) -> str:
    return turn._("{code} is your code for the chat with {assistant}. Never tell it to anyone.").format(
        code=code, assistant=turn.t.with_name(turn.profile.assistant)
    )


def _codes_paused(turn: Turn, seconds: int) -> None:
    """No new code now (too many asked for this number, from this chat, or in total): said with the wait. A code
    sent earlier can still be typed."""
    minutes = max(1, math.ceil(seconds / 60))
    until = turn.now + timedelta(seconds=seconds)
    turn.say(
        turn.ngettext(
            "I can't send another code yet: too many were asked for in a short time. You can ask for a new one "
            "in {count} minute, at {time}.",
            "I can't send another code yet: too many were asked for in a short time. You can ask for a new one "
            "in {count} minutes, at {time}.",
            minutes,
        ).format(count=minutes, time=_local_time(turn, until)),
        _code_buttons(turn),
    )


_SENDING: set[asyncio.Task[None]] = set()  # codes on their way: a task nobody holds may be collected mid-send


def _deliver_later(turn: Turn, phone: str | None, text: str) -> None:
    """The SMS leaves in the background, so the reply takes as long whether or not the number is ours; nobody's
    number gets the same task, which sends nothing."""
    task = asyncio.get_running_loop().create_task(_deliver(turn.deps.sms, phone, text))
    _SENDING.add(task)
    task.add_done_callback(_SENDING.discard)


async def _deliver(sms: SmsGateway, phone: str | None, text: str) -> None:
    if phone is None:
        return
    try:
        await sms.send(phone, text)
    except Exception:
        log.exception("one-time code not sent")


@router.payload("idresend")
async def resend(turn: Turn) -> None:
    """A new code at once, to where the last one went. The number is not in the session, so it is found again
    among the subscriber's own numbers by its keyed hash; nobody's (id 0) goes through the same statements and
    sends nothing. A button from a flow that is over asks for the number or the code again."""
    awaiting = dict(turn.session.data)
    if turn.session.state != "id:otp" or "q" not in awaiting:
        turn.say(turn._("For a new code, I need the number or the customer code once more."))
        method = str(awaiting.get("m") or "")
        await _begin(turn, method if method in turn.profile.identification else turn.profile.identification[0])
        return
    if await _locked_out(turn, str(awaiting.get("tag", ""))):
        return
    found = await _subscriber(turn, int(str(awaiting.get("sub") or 0)))
    lines = await identity.backend(turn).line_phones(found.id if found else 0)
    candidates = [found.contact_phone, *lines] if found else []
    went_to = str(awaiting.get("to", ""))
    phone = next((p for p in candidates if p and hmac.compare_digest(_keyed(turn, "to:" + p), went_to)), None)
    await _code_to(turn, phone, found, awaiting)


@router.state("id:otp", free_text=True)
async def code_given(turn: Turn) -> None:
    tag = str(turn.session.data.get("tag", ""))
    if await _locked_out(turn, tag):
        return
    codes = turn.deps.otp
    typed = "".join(turn.incoming.text.split())
    if not (typed.isdigit() and len(typed) == codes.digits):
        # Words are no guess at the code: they cost no try ("halo", "ne znam", a reference typed here).
        length = turn.ngettext(
            "The code from the SMS has {count} digit. Type just the digit.",
            "The code from the SMS has {count} digits. Type just the digits.",
            codes.digits,
        )
        turn.say(length.format(count=codes.digits), _code_buttons(turn))
        return
    if not await _reserved(turn, tag):
        return
    result = await codes.check(turn.user, turn.incoming.text)
    subject = parse_id(result.subject)
    await identity.backend(turn).audit("verify_one_time_code", result.status.value, actor=turn.user,
                                       subscriber_id=subject)  # fmt: skip
    if result.status is CodeCheck.OK and result.subject:
        found = await _subscriber(turn, int(result.subject))
        if found is not None:
            await _identified(turn, found, "one_time_code", tag)
            return
    await turn.deps.lockout.failed(turn.user, tag)
    turn.mark(Mark.ID_FAILURE)
    if await _locked_out(turn, tag):
        return
    if result.status is CodeCheck.WRONG:
        turn.say(
            turn.ngettext("That code is not right. You have {count} more try.",
                          "That code is not right. You have {count} more tries.", result.tries_left)
            .format(count=result.tries_left),
            _code_buttons(turn),
        )  # fmt: skip
        return
    if result.status is CodeCheck.EXHAUSTED:
        turn.say(
            turn._("That code is not right, and there are no tries left. Ask for a new code."),
            _code_buttons(turn),
        )
        return
    turn.say(
        turn._("This code no longer works (it has expired, was used, or had too many wrong tries). "
               "Ask for a new one."),
        _code_buttons(turn),
    )  # fmt: skip


# --- tm: code word, or full name and passport ----------------------------------------------------------------------
@router.state("id:word", free_text=True)
async def code_word_given(turn: Turn) -> None:
    tag = str(turn.session.data.get("tag", ""))
    if not await _reserved(turn, tag):
        return
    subscriber_id = int(turn.session.data.get("sub") or 0)
    ok = await identity.backend(turn).verify_code_word(subscriber_id, turn.incoming.text, actor=turn.user)
    await _secret_checked(turn, ok, subscriber_id, tag, "code_word")


@router.state("id:name", free_text=True)
async def name_given(turn: Turn) -> None:
    name = " ".join(turn.incoming.text.split())
    if not 3 <= len(name) <= 200 or any(ch.isdigit() for ch in name) or not any(ch.isalpha() for ch in name):
        turn.say(turn._("Please type the owner's full name as written in the passport."), [[_cancel(turn)]])
        return
    turn.session.data["name"] = name
    turn.session.state = "id:passport"
    turn.say(turn._("Now type the passport series and number, for example I-AŞ 123456."), [[_cancel(turn)]])


@router.state("id:passport", free_text=True)
async def passport_given(turn: Turn) -> None:
    tag = str(turn.session.data.get("tag", ""))
    if not await _reserved(turn, tag):
        return
    subscriber_id = int(turn.session.data.get("sub") or 0)
    name = str(turn.session.data.pop("name", ""))
    ok = await identity.backend(turn).verify_name_passport(subscriber_id, name, turn.incoming.text, actor=turn.user)
    await _secret_checked(turn, ok, subscriber_id, tag, "name_passport")


async def _secret_checked(turn: Turn, ok: bool, subscriber_id: int, tag: str, method: str) -> None:
    if ok:
        found = await _subscriber(turn, subscriber_id)
        if found is not None:
            await _identified(turn, found, method, tag)
            return
    await turn.deps.lockout.failed(turn.user, tag)
    turn.mark(Mark.ID_FAILURE)
    if await _locked_out(turn, tag):
        return
    _ask_secret(turn, str(turn.session.data.get("m") or ""), tag, subscriber_id, again=True)


# --- outcomes ------------------------------------------------------------------------------------------------------
async def _identified(turn: Turn, found: SubscriberInfo, method: str, tag: str) -> None:
    await turn.deps.lockout.succeeded(turn.user, tag)
    turn.mark(Mark.IDENTIFIED)
    resume = turn.session.extra.pop(RESUME, None)
    turn.finish()
    if found.segment == "corporate":
        turn.say(turn.content(turn.profile.text("corporate")), [[menu_button(turn)]])
        return
    who = identity.remember(turn, found.id, method, found.full_name)
    log.info("identified", extra={"user": pseudonym(turn.user.key), "method": method})
    turn.say(turn._("Thank you, {name}! You are identified.").format(name=turn.t.script(who.name)))
    if resume:
        turn.redirect(resume)
    else:
        await show_menu(turn)


async def _subscriber(turn: Turn, subscriber_id: int) -> SubscriberInfo | None:
    return await identity.backend(turn).subscriber(subscriber_id)


async def _locked_out(turn: Turn, tag: str | None) -> bool:
    seconds = await turn.deps.lockout.locked_for(turn.user, tag)
    if seconds <= 0:
        return False
    _paused(turn, seconds)
    return True


async def _reserved(turn: Turn, tag: str) -> bool:
    """One try at `tag` taken before anything is compared (so many chats at once can't all get one), or the
    user is told until when identification is paused."""
    seconds = await turn.deps.lockout.reserve(turn.user, tag)
    if seconds <= 0:
        return True
    _paused(turn, seconds)
    return False


def _paused(turn: Turn, seconds: int) -> None:
    until = turn.now + timedelta(seconds=seconds)
    turn.mark(Mark.ID_LOCKOUT)
    turn.finish()
    turn.session.extra.pop(RESUME, None)
    turn.say(
        turn._("There were too many unsuccessful attempts, so for your safety identification is paused until "
               "{time}. You can also reach us here:").format(time=_local_time(turn, until))
        + "\n" + contact_centre_line(turn),
        [[menu_button(turn)]],
    )  # fmt: skip


def _local_time(turn: Turn, moment: datetime) -> str:
    return turn.t.time(moment, turn.profile.zone)


def _cancel(turn: Turn) -> Button:
    return Button(turn._("✖ Cancel"), "idcancel")


def _example_number(turn: Turn) -> str:
    return {"RS": "064 123 4567", "TM": "+993 65 123456"}.get(turn.profile.country, "+…")


# --- ending it ---------------------------------------------------------------------------------------------------
@router.intent("logout", N_("log out|logout|sign out"))
@router.command("logout", "odjava")
@router.payload("logout")
async def logout(turn: Turn) -> None:
    turn.finish()
    if identity.forget(turn):
        turn.say(turn._("You are logged out. Next time I will ask you to identify yourself again."))
    else:
        turn.say(turn._("You were not identified, so there is nothing to log out of."))
    await show_menu(turn)
