"""The invoice for advance payment: which account, how much (read back before anything is made), the order and the
PDF in the chat (made by `bot.services.invoice`)."""

from __future__ import annotations

from decimal import Decimal

from bot.core.amounts import REASON_TEXTS, AmountError, parse_amount
from bot.core.engine import StalePayload
from bot.core.replies import Button, Document
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import OrderKind
from bot.services import identity
from bot.services.backend import AccountInfo
from bot.services.invoice import advance_invoice
from handlers.account.lines import kind_label
from handlers.account.orders import choose, place, today
from handlers.common import menu_button
from handlers.identify import require_identity

router = Router()

INVOICE_STATE = "account:invoice"


@router.payload("ainv")
async def invoice(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    if not turn.arg:
        await choose(
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
        await choose(
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
    order = await place(turn, OrderKind.INVOICE, account, f"{today(turn)}:{amount}", amount=str(amount))
    content = await advance_invoice(
        turn.t, turn.profile, number=order.number, at=turn.now, subscriber=subscriber, account=account,
        kind=kind_label(turn, account), amount=amount,
    )  # fmt: skip
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
