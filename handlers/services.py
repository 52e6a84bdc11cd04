"""Turning services on and off ("Hyzmatlary birikdirmek we öçürmek"): the chosen line's services with their
state and a short description, a confirmation, then the order.

Keyboards stay short on every channel: at most `PAGE_SIZE` service buttons per message, with ◀ ▶ to page. The
rules (tariff, `requires`, changes already ordered, only on an active line) live in `bot.services.service_changes`;
every payload that names an account is checked against the identified subscriber. A line that is not active is
shown read-only, with why and what to do; a button changing it (stale or forged) is refused.

Payloads: `svl:<account>:<page>` the list, `svc:<account>:<code>` the question, `svy:<account>:<code>:<1|0>:<round>`
the confirmed change (the round makes a double "yes" one order, see `service_changes`).
"""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.ids import parse_id
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountStatus, DisconnectReason
from bot.profiles import Service
from bot.services import identity
from bot.services.backend import AccountInfo
from bot.services.phones import BadPhone, normalize_phone
from bot.services.service_changes import Change, Line, Refusal, ServiceChanges, changeable, check_change
from handlers.account import account_line
from handlers.common import contact_centre_line, menu_button
from handlers.identify import require_identity
from handlers.menu import FEATURE_LABELS

router = Router()

FEATURE = "services"
LIST = "svl"
ASK = "svc"
DO = "svy"
NUMBER_STATE = "services:number"
BY_NAME = "svn"  # svn:<code>:<1|0|>[:<account number>] a service named in a sentence ("ugasite mi gprs"), on, off
# or either, on the line the sentence names if it names one
PAGE_SIZE = 8  # service buttons per message; with navigation and the menu button it stays under Viber's rows

KEYWORDS = N_("services|turn on a service|turn off a service")


def _names(turn: Turn, services: tuple[Service, ...]) -> str:
    """ "MMS", "MMS and Internet paket", "MMS, SMS and Internet paket": a list as the language writes it."""
    names = [turn.content(s.name) for s in services]
    if len(names) < 2:
        return "".join(names)
    return turn._("{items} and {last}").format(items=", ".join(names[:-1]), last=names[-1])


def _changes(turn: Turn) -> ServiceChanges:
    return ServiceChanges(turn.db, identity.backend(turn), turn.profile)


def _mark(line: Line, code: str) -> str:
    """✅ on, ⚪ off, ⏳ a change ordered and waiting."""
    return "⏳ " if code in line.ordered else "✅ " if line.is_on(code) else "⚪ "


def _state(turn: Turn, line: Line, code: str) -> str:
    if code not in line.ordered:
        return turn._("on") if line.is_on(code) else turn._("off")
    return turn._("off, turning it on is ordered") if line.is_on(code) else turn._("on, turning it off is ordered")


@router.intent(FEATURE, KEYWORDS)
@router.command("services", "usluge", "hyzmatlar")
@router.payload(FEATURE)
async def start(turn: Turn) -> None:
    """Which line? Skipped when the subscriber has only one line with services."""
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = [a for a in await identity.backend(turn).accounts(who.subscriber_id) if a.services]
    if not accounts:
        turn.say(turn._("None of your accounts has services that can be turned on or off here."),
                 [[menu_button(turn)]])  # fmt: skip
        return
    if len(accounts) == 1:
        await show_list(turn, accounts[0], 0)
        return
    turn.say(
        turn._("Choose the line whose services you want to see:"),
        [[Button(account_line(turn, a), f"{LIST}:{a.id}:0")] for a in accounts] + [[menu_button(turn)]],
    )


@router.payload(BY_NAME)
async def by_name(turn: Turn) -> None:
    """Straight to the question about the service the subscriber named, on the line that has it; when they asked for
    what it already is ("ugasite gprs" with GPRS off), they are told so with the list."""
    code, _, rest = turn.arg.partition(":")
    on, _, named = rest.partition(":")
    service = turn.profile.service(code)
    if service is None or on not in ("", "0", "1"):
        raise StalePayload(turn.payload)
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = [a for a in await identity.backend(turn).accounts(who.subscriber_id) if a.service(code) is not None]
    # A line named in the sentence is taken when it is one of theirs with the service; else they choose as always
    # (nothing is said about a number that is not theirs).
    accounts = [a for a in accounts if a.number == named] or accounts
    if not accounts:
        turn.say(turn._("None of your lines has {service}.").format(service=turn.content(service.name)),
                 [[Button(turn._("⬅ Back to the services"), FEATURE)], [menu_button(turn)]])  # fmt: skip
        return
    if len(accounts) > 1:
        turn.say(
            turn._("On which line?"),
            [[Button(account_line(turn, a), f"{ASK}:{a.id}:{code}")] for a in accounts] + [[menu_button(turn)]],
        )
        return
    account = accounts[0]
    line = await _changes(turn).line(account)
    if not changeable(account):
        await show_list(turn, account, _page_of(turn, account, code))
        return
    if on and code not in line.ordered and line.is_on(code) == (on == "1"):
        already = turn._("{service} is already on on {line}.") if on == "1" else turn._("{service} is already off on "
                                                                                           "{line}.")  # fmt: skip
        turn.say(already.format(service=turn.content(service.name), line=account.number))
        await show_list(turn, account, _page_of(turn, account, code))
        return
    turn.redirect(f"{ASK}:{account.id}:{code}")


@router.payload(LIST)
async def list_page(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, raw_page = turn.arg.partition(":")
    account = await identity.owned_account(turn, who, raw_id)
    page = parse_id(raw_page)
    if page is None:
        raise StalePayload(turn.payload)
    turn.finish()
    await show_list(turn, account, page)


def line_services(turn: Turn, account: AccountInfo) -> list[Service]:
    """The catalogue's services this line has (on or off), in the catalogue's order: the operator's data says
    which services a line can have, so a fixed line is not offered GPRS."""
    return [s for s in turn.profile.services if account.service(s.code) is not None]


async def show_list(turn: Turn, account: AccountInfo, page: int) -> None:
    line = await _changes(turn).line(account)
    catalogue = line_services(turn, account)
    pages = max(1, -(-len(catalogue) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = catalogue[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [turn._("Services on {line}:").format(line=account_line(turn, account))]
    if pages > 1:
        lines.append(turn._("(page {page} of {pages})").format(page=page + 1, pages=pages))
    for service in shown:
        lines.append("")
        lines.append(_mark(line, service.code) + f"{turn.content(service.name)} — {_state(turn, line, service.code)}")
        lines.append("   " + turn.content(service.description))
    lines.append("")
    active = changeable(account)  # otherwise read-only: why, and where the line is switched on again
    lines.append(turn._("Choose a service to turn it on or off.") if active else _not_active(turn, account))
    rows = [
        [Button(_mark(line, s.code) + turn.content(s.label or s.name), f"{ASK}:{account.id}:{s.code}")]
        for s in shown
        if active
    ]
    navigation = []
    if page > 0:
        navigation.append(Button(turn._("◀ Previous"), f"{LIST}:{account.id}:{page - 1}"))
    if page < pages - 1:
        navigation.append(Button(turn._("Next ▶"), f"{LIST}:{account.id}:{page + 1}"))
    if navigation:
        rows.append(navigation)
    if not active:
        rows.extend(_not_active_rows(turn, account))
    rows.append([menu_button(turn)])
    turn.say("\n".join(lines), rows)


@router.payload(ASK)
async def ask(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, code = turn.arg.partition(":")
    account = await identity.owned_account(turn, who, raw_id)
    changes = _changes(turn)
    change = check_change(turn.profile, await changes.line(account), code)
    if change.service is None or account.service(code) is None or change.refusal is Refusal.NOT_ACTIVE:
        raise StalePayload(turn.payload)
    back = Button(turn._("⬅ Back to the services"), f"{LIST}:{account.id}:{_page_of(turn, account, code)}")
    if not change.allowed:
        turn.say(refusal_text(turn, account, change), [[back], [menu_button(turn)]])
        return
    round_ = await changes.round(account, code)
    name = turn.content(change.service.name)
    if change.turn_on and change.service.asks_number:
        turn.goto(NUMBER_STATE, acc=account.id, code=code, round=round_)
        turn.say(
            turn._("To which number should the calls of {line} go? Type it with its area code.").format(
                line=account.number
            ),
            [[back], [menu_button(turn)]],
        )
        return
    question = (
        turn._("Turn on {service} on {line}?") if change.turn_on else turn._("Turn off {service} on {line}?")
    ).format(service=name, line=account.number)
    yes = Button(turn._("Yes, turn it on") if change.turn_on else turn._("Yes, turn it off"),
                 f"{DO}:{account.id}:{code}:{int(change.turn_on)}:{round_}")  # fmt: skip
    turn.say(question + "\n" + turn.content(change.service.description), [[yes], [back]])


@router.state(NUMBER_STATE, free_text=True)
async def number_typed(turn: Turn) -> None:
    """The number calls go to, validated like any phone number, then read back in the question."""
    who = await require_identity(turn)
    if who is None:
        return
    data = turn.session.data
    account = await identity.owned_account(turn, who, str(data.get("acc", "")))
    code, round_ = str(data.get("code", "")), data.get("round")
    service = turn.profile.service(code)
    if service is None or not service.asks_number or not isinstance(round_, int):
        raise StalePayload(turn.payload)
    back = Button(turn._("⬅ Back to the services"), f"{LIST}:{account.id}:{_page_of(turn, account, code)}")
    try:
        number = normalize_phone(turn.incoming.text, turn.profile.country)
    except BadPhone:
        turn.say(turn._("That is not a valid phone number. Type it with its area code."), [[back], [menu_button(turn)]])
        return
    yes = Button(turn._("Yes, turn it on"), f"{DO}:{account.id}:{code}:1:{round_}:{number}")
    turn.finish()  # the number is read; what is typed next is an answer to the question
    turn.say(
        turn._("Turn on {service} on {line}, to {number}?").format(
            service=turn.content(service.name), line=account.number, number=number
        )
        + "\n"
        + turn.content(service.description),
        [[yes], [back]],
    )


@router.payload(DO)
async def do(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    parts = turn.arg.split(":")
    if len(parts) not in (4, 5) or parts[2] not in ("0", "1") or parse_id(parts[3]) is None:
        raise StalePayload(turn.payload)
    raw_id, code, on, round_ = parts[:4]
    account = await identity.owned_account(turn, who, raw_id)
    service_def = turn.profile.service(code)
    if service_def is None or account.service(code) is None:
        raise StalePayload(turn.payload)
    number: str | None = None
    if on == "1" and service_def.asks_number:  # the number is checked again: a payload can be forged
        try:
            number = normalize_phone(parts[4] if len(parts) == 5 else "", turn.profile.country)
        except BadPhone:
            raise StalePayload(turn.payload) from None
    change, order = await _changes(turn).order(account, code, on == "1", int(round_), turn.user, number)
    if change.refusal is Refusal.NOT_ACTIVE:
        raise StalePayload(turn.payload)
    turn.finish()
    back = Button(turn._("⬅ Back to the services"), f"{LIST}:{account.id}:{_page_of(turn, account, code)}")
    service = change.service
    assert service is not None  # checked above
    if order is None:
        turn.say(refusal_text(turn, account, change), [[back], [menu_button(turn)]])
        return
    text = (
        turn._("Done: the order to turn on {service} on {line} has been placed. Order number: {number}.")
        if change.turn_on
        else turn._("Done: the order to turn off {service} on {line} has been placed. Order number: {number}.")
    )
    turn.say(
        text.format(service=turn.content(service.name), line=account.number, number=order.number),
        [[back], [menu_button(turn)]],
    )


def refusal_text(turn: Turn, account: AccountInfo, change: Change) -> str:
    refusal, others = change.refusal, change.others
    name = turn.content(change.service.name) if change.service else ""
    if refusal is Refusal.ORDERED:
        text = (
            turn._("The order to turn on {service} on {line} has already been placed and is waiting to be carried "
                   "out. Order number: {number}.")
            if change.turn_on
            else turn._("The order to turn off {service} on {line} has already been placed and is waiting to be "
                        "carried out. Order number: {number}.")
        )  # fmt: skip
        return text.format(service=name, line=account.number, number=change.order)
    if refusal is Refusal.NOT_IN_TARIFF:
        return turn._("{service} cannot be turned on in your tariff plan {tariff}.").format(
            service=name, tariff=account.tariff or ""
        )
    if refusal is Refusal.NEEDS:
        return turn.ngettext(
            "{service} needs {needed}. Please turn on {needed} first.",
            "{service} needs {needed}. Please turn them on first: {needed}.",
            len(others),
        ).format(service=name, needed=_names(turn, others))
    if refusal is Refusal.NEEDED_BY:
        return turn.ngettext(
            "{dependants} depends on {service}. Please turn off {dependants} first.",
            "{dependants} depend on {service}. Please turn off {dependants} first.",
            len(others),
        ).format(service=name, dependants=_names(turn, others))
    return turn._("This service cannot be changed here.")


def _not_active(turn: Turn, account: AccountInfo) -> str:
    """Why the services of a line that is not active cannot be changed, and what to do instead."""
    if account.status == AccountStatus.SUSPENDED:
        return turn._("This line is temporarily suspended, so its services cannot be changed. You can resume it in "
                      "“My account”.")  # fmt: skip
    if account.disconnect_reason == DisconnectReason.DEBT:
        return turn._("This line is disconnected because of a debt. Its services can be changed again once it is "
                      "switched on, after the debt is paid.")  # fmt: skip
    return turn._("This line is not active, so its services cannot be changed here. Our contact centre will help:") + (
        "\n" + contact_centre_line(turn)
    )


def _not_active_rows(turn: Turn, account: AccountInfo) -> list[list[Button]]:
    """Where the subscriber can switch the line on again: resume it, or reconnect it on promise where offered."""
    if account.status == AccountStatus.SUSPENDED:
        return [[Button(turn._("⏸ Suspend or resume a line"), "asusp")]]
    if account.disconnect_reason == DisconnectReason.DEBT and "reconnect" in turn.profile.menu:
        return [[Button(turn._(FEATURE_LABELS["reconnect"]), "reconnect")]]
    return []


def _page_of(turn: Turn, account: AccountInfo, code: str) -> int:
    codes = [s.code for s in line_services(turn, account)]
    return codes.index(code) // PAGE_SIZE if code in codes else 0
