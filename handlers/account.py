"""The subscriber's accounts — what they have, in what state, what they owe — and what the help desk does with them.

After identification: the overview, the composition of the amount owed, and the seed's account actions, each an
order through the backend's order/outbox path confirmed with its number: unblocking a line blocked for
inactivity, temporary suspension (with the day to resume) and resumption, the favourite number, the discount
package; the invoice for advance payment as a PDF in the chat; and PIN/PUK: the instructions for anyone, the PUK
of a line only after a fresh identification (step-up), shown once and kept nowhere (not in the session, not in a
log). Every account id in a payload is re-checked with `identity.owned_account`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from decimal import Decimal

from bot.core.amounts import REASON_TEXTS, AmountError, parse_amount
from bot.core.capabilities import capabilities
from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.ids import parse_id
from bot.core.replies import Button, Document
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountKind, AccountStatus, DisconnectReason, OrderKind
from bot.services import identity
from bot.services.backend import AccountInfo, OrderRequest, PlacedOrder, WaitingOrder
from bot.services.invoice import InvoiceText, render_invoice
from bot.services.phones import BadPhone, mask_phone, normalize_phone
from handlers.common import contact_centre_line, menu_button
from handlers.identify import require_identity

router = Router()

KIND_LABELS = {
    "mobile": N_("mobile telephony"),
    "fixed": N_("fixed telephony"),
    "tv": N_("television"),
    "internet": N_("internet"),
    "box": N_("BOX package"),
}
WAITING_LABELS = {
    OrderKind.RECONNECT_ON_PROMISE: N_("reconnection on promise"),
    OrderKind.SUSPEND: N_("temporary suspension"),
    OrderKind.RESUME: N_("resumption"),
    OrderKind.UNBLOCK: N_("unblocking"),
    OrderKind.FAVOURITE_NUMBER: N_("favourite number"),
}
STATUS_LABELS = {
    "active": N_("active"),
    "disconnected": N_("disconnected"),
    "suspended": N_("temporarily suspended"),
}


def kind_label(turn: Turn, account: AccountInfo) -> str:
    return turn._(KIND_LABELS.get(account.kind, account.kind))


def status_label(turn: Turn, account: AccountInfo) -> str:
    """The line's state; once an order on it is placed, that order instead of a state it is about to leave."""
    if account.waiting:
        order = account.waiting[0]
        return turn._("order {number} ({what}) is waiting to be carried out").format(
            number=order.number, what=turn._(WAITING_LABELS[order.kind])
        )
    return turn._(STATUS_LABELS.get(account.status, account.status))


def say_waiting(turn: Turn, account: AccountInfo, order: WaitingOrder) -> None:
    """An old button for an action already ordered: the order's number, not a second order nor a stale question."""
    turn.finish()
    turn.say(
        turn._(
            "The order {number} for the {what} of {account} has already been placed and is waiting to be carried out."
        ).format(number=order.number, what=turn._(WAITING_LABELS[order.kind]), account=account.number),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


def account_line(turn: Turn, account: AccountInfo) -> str:
    """'1234567/1 · mobile telephony · +381 64 ••• •• 67 · disconnected' — the same line in every flow."""
    parts = [account.number, kind_label(turn, account)]
    if account.phone:
        parts.append(mask_phone(account.phone))
    parts.append(status_label(turn, account))
    return " · ".join(parts)


@router.intent("account", N_("account|my account|balance|debt"))
@router.command("account", "racun")
@router.payload("account")
async def show_accounts(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = await identity.backend(turn).accounts(who.subscriber_id)
    if not accounts:
        turn.say(turn._("I found no accounts for you."), [[menu_button(turn)]])
        return
    lines = [turn._("Your accounts:")]
    for account in accounts:
        lines.append("")
        lines.append("• " + account_line(turn, account))
        details = [turn._("Debt: {amount}").format(amount=turn.money(account.debt, account.currency))]
        if account.tariff:
            details.append(turn._("Tariff plan: {tariff}").format(tariff=account.tariff))
        lines.append("  " + "; ".join(details))
    turn.say("\n".join(lines), [*_action_rows(turn), [menu_button(turn)], [Button(turn._("🔓 Log out"), "logout")]])


def _action_rows(turn: Turn) -> list[list[Button]]:
    return [
        [Button(turn._("🧾 What makes up the amount"), "acomp")],
        [Button(turn._("🔑 PIN and PUK"), "apin")],
        [Button(turn._("🔓 Unblock a line blocked for inactivity"), "aunbl")],
        [Button(turn._("⏸ Suspend or resume a line"), "asusp")],
        [Button(turn._("⭐ Favourite number"), "afav")],
        [Button(turn._("🎁 Discount package"), "adisc")],
        [Button(turn._("📄 Invoice for advance payment"), "ainv")],
    ]


# --- composition of the amount -------------------------------------------------------------------------------------
@router.payload("acomp")
async def composition(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = await identity.backend(turn).accounts(who.subscriber_id)
    owing = [a for a in accounts if a.debt > 0]
    if not owing:
        turn.say(turn._("You owe nothing on any of your accounts."), [[menu_button(turn)]])
        return
    lines = [turn._("The amount you owe is the sum of the unpaid amounts of each account:")]
    for account in owing:
        lines.append(
            "• "
            + turn._("{account} ({kind}, tariff {tariff}): {amount}").format(
                account=account.number,
                kind=kind_label(turn, account),
                tariff=account.tariff or "-",
                amount=turn.money(account.debt, account.currency),
            )
        )
        for bill in account.bills:  # what the data holds, bill by bill
            year, month = (int(part) for part in bill.period.split("-"))
            lines.append(
                "   – "
                + turn._("bill for {month}: {amount}, due {date}").format(
                    month=turn.t.month(year, month),
                    amount=turn.money(bill.amount, account.currency),
                    date=turn.t.date(bill.due_on, turn.profile.zone),
                )
            )
    currencies = {a.currency for a in owing}
    if len(currencies) == 1:
        total = sum((a.debt for a in owing), start=Decimal(0))
        lines.append(turn._("Total: {amount}").format(amount=turn.money(total, owing[0].currency)))
    if not all(account.bills for account in owing):  # the general rule, where the data holds no bills
        lines.append(
            turn._(
                "Each account's amount is what its bills since the last payment add up to: the monthly fee of the "
                "tariff plan, the services you use and calls or data beyond the plan."
            )
        )
    turn.say("\n".join(lines), [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]])


# --- orders on a line ----------------------------------------------------------------------------------------------
async def _choose(
    turn: Turn, prefix: str, accounts: list[AccountInfo], question: str, none: str, *, alone: bool = True
) -> None:
    """Ask which account (a button per account, its id in the payload), or say there is none that fits. A single
    account that fits is not asked about (`alone`): the turn goes on as if its button were pressed, so every step
    after it (which names the account) is the same either way. `alone=False` where the account's button itself
    places an order."""
    turn.finish()
    if not accounts:
        turn.say(none, [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]])
        return
    if alone and len(accounts) == 1:
        turn.redirect(f"{prefix}:{accounts[0].id}")
        return
    rows = [[Button(account_line(turn, a), f"{prefix}:{a.id}")] for a in accounts]
    turn.say(question, [*rows, [menu_button(turn)]])


async def _place(turn: Turn, kind: OrderKind, account: AccountInfo, key: str, **extra: object) -> PlacedOrder:
    """Place the order; the key is derived from what was confirmed, so a double tap places it once."""
    due_at = extra.pop("due_at", None)
    return await identity.backend(turn).place_order(
        OrderRequest(
            kind=kind,
            account_id=account.id,
            idempotency_key=f"{kind.value}:{account.id}:{key}",
            requested_by=turn.user,
            due_at=due_at if isinstance(due_at, datetime) else None,
            payload=extra,
        )
    )


def _confirmed(turn: Turn, order: PlacedOrder, text: str) -> None:
    turn.finish()
    turn.say(
        text + "\n" + turn._("Order number: {number}.").format(number=order.number),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


NO_PAYLOAD = "ano"


def _ask(turn: Turn, question: str, yes_label: str, yes_payload: str) -> None:
    """The yes/no question before an order that costs money or cuts a service; "No" is always a button."""
    turn.confirm(question, Button(yes_label, yes_payload), Button(turn._("No"), NO_PAYLOAD), [[menu_button(turn)]])


@router.payload(NO_PAYLOAD)
async def declined(turn: Turn) -> None:
    turn.finish()
    turn.say(
        turn._("All right, I have not ordered anything."),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


def _today(turn: Turn) -> str:
    return turn.now.astimezone(turn.profile.zone).date().isoformat()


@router.payload("aunbl")
@router.payload("aunbly")
async def unblock(turn: Turn) -> None:
    """aunbl → which line; aunbl:<id> → the question; aunbly:<id> → the order."""
    who = await require_identity(turn)
    if who is None:
        return
    if turn.arg:
        account = await identity.owned_account(turn, who, turn.arg)
        if waiting := account.waiting_order(OrderKind.UNBLOCK):
            say_waiting(turn, account, waiting)
            return
        if not _blocked_for_inactivity(account):
            raise StalePayload(turn.payload)
        if not turn.payload.startswith("aunbly:"):
            _ask(
                turn,
                turn._("Shall I order the unblocking of {account}, blocked for inactivity?").format(
                    account=account.number
                ),
                turn._("Yes, unblock it"),
                f"aunbly:{account.id}",
            )
            return
        order = await _place(turn, OrderKind.UNBLOCK, account, _today(turn))
        _confirmed(turn, order, turn._("I have ordered the unblocking of {account}.").format(account=account.number))
        return
    accounts = [
        a
        for a in await identity.backend(turn).accounts(who.subscriber_id)
        if _blocked_for_inactivity(a) and not a.waiting_order(OrderKind.UNBLOCK)
    ]
    await _choose(
        turn,
        "aunbl",
        accounts,
        turn._("Which line should I unblock?"),
        turn._("None of your lines is blocked for inactivity."),
    )


def _blocked_for_inactivity(account: AccountInfo) -> bool:
    return account.status == AccountStatus.DISCONNECTED and account.disconnect_reason == DisconnectReason.INACTIVITY


SUSPEND_DAYS = (7, 14, 30, 90)


@router.payload("asusp")
@router.payload("asuspy")
async def suspend(turn: Turn) -> None:
    """asusp → which line; asusp:<id> → until when (or resume it, if suspended); asusp:<id>:<days> → the line,
    the period and the day it works again, to confirm; asuspy:<id>:<days> → the order."""
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, raw_days = turn.arg.partition(":")
    if not raw_id:
        accounts = [
            a
            for a in await identity.backend(turn).accounts(who.subscriber_id)
            if a.status in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED)
            and not a.waiting_order(OrderKind.SUSPEND, OrderKind.RESUME)
        ]
        await _choose(
            turn,
            "asusp",
            accounts,
            turn._("Which line do you want to suspend or resume?"),
            turn._("You have no line that can be suspended or resumed."),
            alone=all(a.status == AccountStatus.ACTIVE for a in accounts),  # a suspended line's button resumes it
        )
        return
    account = await identity.owned_account(turn, who, raw_id)
    if waiting := account.waiting_order(OrderKind.SUSPEND, OrderKind.RESUME):
        say_waiting(turn, account, waiting)
        return
    if account.status == AccountStatus.SUSPENDED:
        order = await _place(turn, OrderKind.RESUME, account, _today(turn))
        _confirmed(turn, order, turn._("I have ordered that {account} works again.").format(account=account.number))
        return
    if account.status != AccountStatus.ACTIVE:
        raise StalePayload(turn.payload)
    if not raw_days:
        turn.finish()
        rows = [
            [Button(turn.ngettext("for {count} day", "for {count} days", d).format(count=d), f"asusp:{account.id}:{d}")]
            for d in SUSPEND_DAYS
        ]
        turn.say(
            turn._("For how long should {account} be suspended? It will work again on its own after that.").format(
                account=account.number
            ),
            [*rows, [menu_button(turn)]],
        )
        return
    days = parse_id(raw_days)
    if days is None or days not in SUSPEND_DAYS:
        raise StalePayload(turn.payload)
    local = turn.now.astimezone(turn.profile.zone).date() + timedelta(days=days)
    resume_at = datetime.combine(local, time(0, 0), tzinfo=turn.profile.zone)
    if not turn.payload.startswith("asuspy:"):
        _ask(
            turn,
            turn.ngettext(
                "Shall I order that {account} is suspended for {count} day? It will not work until it works again "
                "on its own on {date}.",
                "Shall I order that {account} is suspended for {count} days? It will not work until it works again "
                "on its own on {date}.",
                days,
            ).format(account=account.number, count=days, date=turn.date(resume_at)),
            turn._("Yes, suspend it"),
            f"asuspy:{account.id}:{days}",
        )
        return
    # One suspension a day per line, whatever its length: a second tap on another period must not place a second
    # order that would switch the line back on at a different date. The user is told the date already ordered.
    order = await _place(turn, OrderKind.SUSPEND, account, _today(turn), due_at=resume_at, resume_on=local.isoformat())
    ordered_resume = order.due_at or resume_at
    if order.created or ordered_resume == resume_at:
        text = turn._("I have ordered the suspension of {account}. It will work again on {date}.")
    else:
        text = turn._(
            "The suspension of {account} was already ordered today; it will work again on {date}. To change the "
            "period, ask an operator."
        )
    _confirmed(turn, order, text.format(account=account.number, date=turn.date(ordered_resume)))


@router.payload("asuspq")
async def suspend_for(turn: Turn) -> None:
    """asuspq:<days> → which line; asuspq:<days>:<id> → "suspend it for that long?" with the period already chosen
    (the subscriber named it in a sentence: "hoću da suspendujem broj na dve nedelje"). Yes is the period's own
    button (`asusp:<id>:<days>`), so the order is placed only once confirmed; another period stays one tap away."""
    raw_days, _, raw_id = turn.arg.partition(":")
    days = parse_id(raw_days)
    if days is None or days not in SUSPEND_DAYS:
        turn.redirect("asusp:" + raw_id if raw_id else "asusp")  # a period not offered: the usual question
        return
    who = await require_identity(turn)
    if who is None:
        return
    if not raw_id:
        accounts = [
            a for a in await identity.backend(turn).accounts(who.subscriber_id) if a.status == AccountStatus.ACTIVE
        ]
        await _choose(
            turn,
            f"asuspq:{days}",
            accounts,
            turn._("Which line do you want to suspend?"),
            turn._("You have no line that can be suspended or resumed."),
        )
        return
    account = await identity.owned_account(turn, who, raw_id)
    if account.status != AccountStatus.ACTIVE:
        turn.redirect(f"asusp:{account.id}")  # suspended: the usual answer (resume it)
        return
    turn.redirect(f"asusp:{account.id}:{days}")  # the suspension's own question: the line, the period, the day


def _active_mobile(account: AccountInfo) -> bool:
    return account.kind == AccountKind.MOBILE and account.status == AccountStatus.ACTIVE


def _mobile(accounts: list[AccountInfo]) -> list[AccountInfo]:
    return [a for a in accounts if _active_mobile(a)]


async def _chosen_mobile_line(
    turn: Turn, who: identity.Identity, prefix: str, question: str, none_text: str, skip: tuple[OrderKind, ...] = ()
) -> AccountInfo | None:
    """The active mobile line a payload names (re-checked against the subscriber), or None after asking which;
    lines with a waiting order of a `skip` kind are not offered."""
    if not turn.arg:
        lines = _mobile(await identity.backend(turn).accounts(who.subscriber_id))
        await _choose(turn, prefix, [a for a in lines if not a.waiting_order(*skip)], question, none_text)
        return None
    account = await identity.owned_account(turn, who, turn.arg)
    if not _active_mobile(account):
        raise StalePayload(turn.payload)
    return account


FAVOURITE_STATE = "account:favourite"


@router.payload("afav")
async def favourite(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    account = await _chosen_mobile_line(
        turn,
        who,
        "afav",
        turn._("For which line do you want to set or change the favourite number?"),
        turn._("You have no active mobile line for a favourite number."),
        skip=(OrderKind.FAVOURITE_NUMBER,),
    )
    if account is None:
        return
    if waiting := account.waiting_order(OrderKind.FAVOURITE_NUMBER):
        say_waiting(turn, account, waiting)
        return
    turn.goto(FAVOURITE_STATE, acc=account.id)
    turn.say(
        turn._("Type the favourite number for {account}, with its area code.").format(account=account.number),
        [[menu_button(turn)]],
    )


@router.state(FAVOURITE_STATE, free_text=True)
async def favourite_typed(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    account = await identity.owned_account(turn, who, str(turn.session.data.get("acc", "")))
    try:
        number = normalize_phone(turn.incoming.text, turn.profile.country)
    except BadPhone:
        turn.say(turn._("That is not a valid phone number. Type it with its area code."), [[menu_button(turn)]])
        return
    # The state stays: another typed number replaces this one.
    _ask(
        turn,
        turn._("Shall I order {number} as the favourite number of {account}?").format(
            number=number, account=account.number
        ),
        turn._("Yes, order it"),
        f"afavy:{account.id}:{number}",
    )


@router.payload("afavy")
async def favourite_confirmed(turn: Turn) -> None:
    """afavy:<id>:<number> → the order; the number in the payload is validated again like a typed one."""
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, raw_number = turn.arg.partition(":")
    account = await identity.owned_account(turn, who, raw_id)
    if waiting := account.waiting_order(OrderKind.FAVOURITE_NUMBER):
        say_waiting(turn, account, waiting)
        return
    if not _active_mobile(account):
        raise StalePayload(turn.payload)
    try:
        number = normalize_phone(raw_number, turn.profile.country)
    except BadPhone:
        raise StalePayload(turn.payload) from None
    order = await _place(turn, OrderKind.FAVOURITE_NUMBER, account, f"{_today(turn)}:{number}", number=number)
    _confirmed(
        turn,
        order,
        turn._("I have ordered {number} as the favourite number of {account}.").format(
            number=number, account=account.number
        ),
    )


@router.payload("adisc")
@router.payload("adiscy")
async def discount(turn: Turn) -> None:
    """adisc → which line; adisc:<id> → what the package contains and costs, to confirm; adiscy:<id> → the order."""
    who = await require_identity(turn)
    if who is None:
        return
    account = await _chosen_mobile_line(
        turn,
        who,
        "adisc",
        turn._("On which line should I activate the discount package?"),
        turn._("You have no active mobile line for the discount package."),
    )
    if account is None:
        return
    if not turn.payload.startswith("adiscy:"):
        package = turn.profile.texts.get("discount_package")
        what = (
            turn.content(package)
            if package
            else turn._("What it contains and costs is told by the contact centre: {contact}.").format(
                contact=contact_centre_line(turn)
            )
        )
        _ask(
            turn,
            what + "\n\n" + turn._("Shall I order the discount package for {account}?").format(account=account.number),
            turn._("Yes, order it"),
            f"adiscy:{account.id}",
        )
        return
    order = await _place(turn, OrderKind.DISCOUNT_PACKAGE, account, _today(turn))
    _confirmed(turn, order, turn._("I have ordered the discount package for {account}.").format(account=account.number))


# --- PIN and PUK ---------------------------------------------------------------------------------------------------
PUK_VISIBLE_SECONDS = 60  # long enough to type it into the phone


@router.intent("pin", N_("PIN|PUK|PIN code|PUK code|PIN and PUK"))
@router.payload("apin")
async def pin_and_puk(turn: Turn) -> None:
    turn.finish()
    instructions = turn.profile.texts.get("pin_unblock")
    text = turn.content(instructions) if instructions else contact_centre_line(turn)
    turn.say(text, [[Button(turn._("🔑 Show the PUK of my line"), "apuk")], [menu_button(turn)]])


@router.payload("apuk")
async def puk(turn: Turn) -> None:
    """The PUK unlocks a SIM card, so whoever holds it controls the line: a fresh identification first, every time."""
    who = await require_identity(turn, fresh=True)
    if who is None:
        return
    if not turn.arg:
        lines = [a for a in await identity.backend(turn).accounts(who.subscriber_id) if a.kind == AccountKind.MOBILE]
        await _choose(
            turn,
            "apuk",
            lines,
            turn._("The PUK of which line do you need?"),
            turn._("You have no mobile line, so there is no PUK to show."),
        )
        return
    account = await identity.owned_account(turn, who, turn.arg)
    if account.kind != AccountKind.MOBILE:
        raise StalePayload(turn.payload)
    turn.finish()
    code = await identity.backend(turn).puk(account.id)
    if code is None:
        turn.say(
            turn._("I can't show the PUK of {account} here. You can get it here:").format(account=account.number)
            + "\n"
            + contact_centre_line(turn),
            [[menu_button(turn)]],
        )
        return
    shown = turn._("PUK of {account}: {puk}").format(account=account.number, puk=code)
    if capabilities(turn.user.channel).can_delete:
        # Its own message, without buttons: a button on it would let the next press edit it into something else.
        turn.say(shown, erase_after=PUK_VISIBLE_SECONDS, sensitive=True, again=f"apuk:{account.id}")
        turn.say(
            turn._("I keep the PUK nowhere, and its message disappears from this chat in a minute."),
            [[menu_button(turn)]],
        )
        return
    turn.say(
        shown
        + "\n"
        + turn._("I show it only this once and keep it nowhere. Delete this message when you have used it."),
        [[menu_button(turn)]],
        sensitive=True,
        again=f"apuk:{account.id}",
    )


# --- invoice for advance payment -----------------------------------------------------------------------------------
INVOICE_STATE = "account:invoice"


@router.payload("ainv")
async def invoice(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    if not turn.arg:
        await _choose(
            turn,
            "ainv",
            await identity.backend(turn).accounts(who.subscriber_id),
            turn._("For which account do you want an invoice for advance payment?"),
            turn._("I found no accounts for you."),
        )
        return
    account = await identity.owned_account(turn, who, turn.arg)
    turn.goto(INVOICE_STATE, acc=account.id)
    turn.say(
        turn._("How much do you want to pay in advance for {account}? Type the amount in {currency}.").format(
            account=account.number, currency=account.currency
        ),
        [[menu_button(turn)]],
    )


@router.payload("ainvq")
async def invoice_for(turn: Turn) -> None:
    """ainvq:<amount> → which account; ainvq:<amount>:<id> → the invoice question (the subscriber named the amount
    in a sentence: "pošaljite mi predračun na 1500 dinara"). The amount is read like a typed one, within bounds."""
    raw_amount, _, raw_id = turn.arg.partition(":")
    policies = turn.profile.policies
    try:
        amount = parse_amount(raw_amount, minimum=policies.advance_min, maximum=policies.advance_max)
    except AmountError:
        turn.redirect("ainv:" + raw_id if raw_id else "ainv")
        return
    who = await require_identity(turn)
    if who is None:
        return
    if not raw_id:
        await _choose(
            turn,
            f"ainvq:{amount}",
            await identity.backend(turn).accounts(who.subscriber_id),
            turn._("For which account do you want an invoice for advance payment?"),
            turn._("I found no accounts for you."),
        )
        return
    account = await identity.owned_account(turn, who, raw_id)
    turn.finish()
    _confirm_invoice(turn, account, amount)


@router.state(INVOICE_STATE, free_text=True)
async def invoice_amount(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    account = await identity.owned_account(turn, who, str(turn.session.data.get("acc", "")))
    policies = turn.profile.policies
    try:
        amount = parse_amount(turn.incoming.text, minimum=policies.advance_min, maximum=policies.advance_max)
    except AmountError as refused:
        turn.say(
            turn._(REASON_TEXTS[refused.reason]).format(
                low=turn.money(policies.advance_min, account.currency),
                high=turn.money(policies.advance_max, account.currency),
            ),
            [[menu_button(turn)]],
        )
        return
    _confirm_invoice(turn, account, amount)


def _confirm_invoice(turn: Turn, account: AccountInfo, amount: Decimal) -> None:
    """The amount is read back before anything is made: "500 za 2 meseca" must never become an invoice by surprise.
    The state stays, so another typed amount replaces this one."""
    turn.confirm(
        turn._("Shall I make the invoice for advance payment for {account} of {amount}?").format(
            account=account.number, amount=turn.money(amount, account.currency)
        ),
        Button(turn._("Yes, make the invoice"), f"ainvy:{account.id}:{amount}"),
        Button(turn._("No"), "ainvn"),
        [[menu_button(turn)]],
    )


def _payment_rows(turn: Turn, account: AccountInfo, customer_code: str, amount: Decimal) -> list[tuple[str, str]]:
    """What a payment slip needs, where the profile has it (the profile check warns where it does not)."""
    payment = turn.profile.payment
    if payment is None:
        return []
    rows = [
        (turn._("Payee"), turn.t.script(payment.payee)),
        (turn._("Payee's account"), payment.account),
    ]
    if payment.model:
        rows.append((turn._("Model"), payment.model))
    reference = payment.reference.format(customer_code=customer_code, account=account.number)
    rows.append((turn._("Payment reference"), reference))
    if payment.purpose:
        rows.append((turn._("Purpose of payment"), turn.content(payment.purpose)))
    rows.append((turn._("Amount"), turn.money(amount, account.currency)))
    return rows


@router.payload("ainvn")
async def invoice_declined(turn: Turn) -> None:
    turn.finish()
    turn.say(
        turn._("All right, I have not made an invoice."),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


@router.payload("ainvy")
async def invoice_confirmed(turn: Turn) -> None:
    """ainvy:<account id>:<amount> → the invoice; the amount in the payload is checked again like a typed one."""
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, raw_amount = turn.arg.partition(":")
    account = await identity.owned_account(turn, who, raw_id)
    policies = turn.profile.policies
    try:
        amount = parse_amount(raw_amount, minimum=policies.advance_min, maximum=policies.advance_max)
    except AmountError:
        raise StalePayload(turn.payload) from None
    subscriber = await identity.backend(turn).subscriber(who.subscriber_id)
    if subscriber is None:
        raise StalePayload(turn.payload)
    order = await _place(turn, OrderKind.INVOICE, account, f"{_today(turn)}:{amount}", amount=str(amount))
    profile = turn.profile
    seller = [profile.operator]
    if profile.postal_address:
        seller.append(turn.t.script(profile.postal_address))
    for phone in (profile.contact_centre, *profile.phones):  # every number a payer may need to call
        seller.append(turn._("{label}: {number}").format(label=turn.content(phone.label), number=phone.number))
    seller.append(", ".join(e.address for e in profile.emails))
    text = InvoiceText(
        title=turn._("Invoice for advance payment"),
        number_line=turn._("No. {number} of {date}").format(number=order.number, date=turn.date(turn.now)),
        seller=seller,
        buyer_heading=turn._("Customer"),
        buyer=[
            turn.t.script(subscriber.full_name),
            turn._("Customer code: {code}").format(code=subscriber.customer_code),
        ],
        rows=[
            (turn._("Account"), f"{account.number} · {kind_label(turn, account)}"),
            (turn._("Tariff plan"), account.tariff or "-"),
            (turn._("Current debt"), turn.money(account.debt, account.currency)),
        ],
        total=(turn._("Amount to pay in advance"), turn.money(amount, account.currency)),
        notes=[
            turn._("Quote the account number {account} when you pay.").format(account=account.number),
            turn._("The advance is credited to the account and settles the next bills."),
        ],
        payment_heading=turn._("For the payment"),
        payment=_payment_rows(turn, account, subscriber.customer_code, amount),
    )
    content = await asyncio.to_thread(render_invoice, text)
    turn.finish()
    turn.send(
        Document(
            file_name=f"{order.number}.pdf",
            content=content,
            caption=turn._("Invoice for advance payment {number}").format(number=order.number),
        )
    )
    turn.say(
        turn._("Here is the invoice for advance payment for {account}: {amount}.").format(
            account=account.number, amount=turn.money(amount, account.currency)
        ),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )
