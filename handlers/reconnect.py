"""Reconnection on promise ("uključenje na reč"), as the operator's instructions describe it for Mila:

identification (phone number or customer code) → "Odaberi račun": the accounts with their status, only the
disconnected ones can be chosen → the debt, how to pay and the terms of the promise → "DA" / "NE" → "izdat je nalog
za uključenje usluga", with the order number and the day the debt falls due.

The rules (one promise per period, the maximum debt, only for debt) live in `bot.services.promises`; this module
only asks and tells. "DA" asks for a fresh identification (step-up), because it commits the subscriber to pay.
"""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountStatus, DisconnectReason, OrderKind
from bot.services import identity
from bot.services.backend import AccountInfo
from bot.services.promises import PromiseRules, Refusal, Verdict
from handlers.account import account_line, say_waiting
from handlers.common import contact_centre_line, menu_button
from handlers.identify import require_identity
from handlers.menu import FEATURE_LABELS, show_menu

router = Router()

FEATURE = "reconnect"
CHOOSE = "rcacc"  # rcacc:<account id>
YES = "rcyes"  # rcyes:<account id>
NO = "rcno"
BY_PHONE = "rcphone"
PHONE_TEXTS = ("reconnect_phone_mobile", "reconnect_phone_fixed")  # the contact centre's menu, from the profile

KEYWORDS = N_("reconnect on promise|reconnect me|turn me back on")

# Why a line is off, when it is not a debt: said next to the line instead of offering it.
OTHER_REASONS = {
    "request": N_("at your request"),
    "inactivity": N_("because it was not used (blocked for inactivity)"),
    "other": N_("for a reason other than a debt"),
}

REFUSALS = {
    Refusal.NOT_DISCONNECTED: N_(
        "The account {account} is not disconnected, so there is nothing to reconnect on promise."
    ),
    Refusal.NOT_FOR_DEBT: N_(
        "The account {account} was not disconnected because of a debt, so it cannot be reconnected on promise. "
        "Our contact centre will tell you how to have it switched on again:"
    ),
    Refusal.NO_DEBT: N_(
        "There is no debt left on the account {account}: your payment has arrived and the services will be "
        "switched on shortly. If they are not, call us:"
    ),
}


def offered(turn: Turn) -> None:
    """A button of this flow from an operator that does not offer it can only be forged: nothing is ordered."""
    if FEATURE not in turn.profile.menu:
        raise StalePayload(turn.payload)


def rules(turn: Turn) -> PromiseRules:
    return PromiseRules(turn.db, identity.backend(turn), turn.profile.policies)


@router.intent(FEATURE, KEYWORDS)
@router.command("reconnect", "ukljucenje")
@router.payload(FEATURE)
async def start(turn: Turn) -> None:
    """Step 3 of the instructions: the subscriber's accounts with their status; choose a disconnected one."""
    if FEATURE not in turn.profile.menu:
        await explain_disconnection(turn)
        return
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = await identity.backend(turn).accounts(who.subscriber_id)
    disconnected = [a for a in accounts if a.status == AccountStatus.DISCONNECTED.value]
    lines = "\n".join("• " + account_line(turn, a) for a in accounts)
    if not disconnected:
        turn.say(
            turn._("None of your services is disconnected, so there is nothing to reconnect on promise.")
            + ("\n\n" + lines if lines else "")
        )
        await show_menu(turn)
        return
    # Only a line disconnected for a debt can be reconnected on promise: the others are named with their reason,
    # never offered as a button that can only answer "no".
    for_debt = [a for a in disconnected if a.disconnect_reason in (DisconnectReason.DEBT.value, None)]
    other = [a for a in disconnected if a not in for_debt]
    # A line already ordered back on shows its order (in `lines`) and is not offered again.
    ordered = [a for a in for_debt if a.waiting_order(OrderKind.RECONNECT_ON_PROMISE)]
    for_debt = [a for a in for_debt if a not in ordered]
    why = "\n".join(
        "• "
        + turn._("{account} is disconnected {reason}: it cannot be reconnected on promise.").format(
            account=a.number, reason=turn._(OTHER_REASONS.get(a.disconnect_reason or "", OTHER_REASONS["other"]))
        )
        for a in other
    )
    if not for_debt and ordered:
        turn.say(lines + ("\n\n" + why if why else ""), [[menu_button(turn)]])
        return
    if not for_debt:
        turn.say(
            turn._("None of your lines is disconnected because of a debt, so there is nothing to reconnect on promise.")
            + "\n\n" + why + "\n\n" + turn._("Our contact centre will tell you how to have it switched on again:")
            + "\n" + contact_centre_line(turn),
            [[menu_button(turn)]],
        )  # fmt: skip
        return
    rows = [[Button(account_line(turn, a), f"{CHOOSE}:{a.id}")] for a in for_debt]
    if any(name in turn.profile.texts for name in PHONE_TEXTS):
        rows.append([Button(turn._("📞 By phone instead"), BY_PHONE)])
    rows.append([menu_button(turn)])
    text = turn._("Choose the account (“Select account”) with the status “disconnected”:") + "\n\n" + lines
    turn.say(text + ("\n\n" + why if why else ""), rows)


async def explain_disconnection(turn: Turn) -> None:
    """Where the operator does not reconnect on promise (tm), "belgim öçürildi" hears which line is off and why,
    the debt, and how to pay (the profile's payment text), with the way to an invoice for the payment."""
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = await identity.backend(turn).accounts(who.subscriber_id)
    disconnected = [a for a in accounts if a.status == AccountStatus.DISCONNECTED.value]
    if not disconnected:
        lines = "\n".join("• " + account_line(turn, a) for a in accounts)
        turn.say(turn._("None of your lines is disconnected.") + ("\n\n" + lines if lines else ""))
        await show_menu(turn)
        return
    parts = []
    for account in disconnected:
        if account.disconnect_reason in (DisconnectReason.DEBT.value, None):
            parts.append(
                turn._(
                    "The line {account} was disconnected because of a debt of {amount}. It is switched on again "
                    "once the debt is paid."
                ).format(account=account.number, amount=turn.money(account.debt, account.currency))
            )
        else:
            reason = turn._(OTHER_REASONS.get(account.disconnect_reason or "", OTHER_REASONS["other"]))
            parts.append(turn._("The line {account} is disconnected {reason}.").format(account=account.number,
                                                                                       reason=reason))  # fmt: skip
    if "payment_info" in turn.profile.texts:
        parts.append(turn.content(turn.profile.texts["payment_info"]))
    parts.append(turn._("Our contact centre will tell you more:") + "\n" + contact_centre_line(turn))
    rows = []
    if "account" in turn.profile.menu:
        if any(a.disconnect_reason == DisconnectReason.INACTIVITY.value for a in disconnected):
            rows.append([Button(turn._("🔓 Unblock a line blocked for inactivity"), "aunbl")])
        rows.append([Button(turn._("📄 Invoice for advance payment"), "ainv")])
    rows.append([menu_button(turn)])
    turn.say("\n\n".join(parts), rows)


@router.payload("rcsteps")
async def assistant_steps(turn: Turn) -> None:
    """The operator's instructions for reconnection on promise with Mila, from help."""
    offered(turn)
    steps = turn.profile.texts.get("reconnect_assistant_steps")
    if steps is None:
        raise StalePayload(turn.payload)
    turn.finish()
    turn.say(turn.content(steps), [[Button(turn._(FEATURE_LABELS[FEATURE]), FEATURE)], [menu_button(turn)]])


@router.payload(BY_PHONE)
async def by_phone(turn: Turn) -> None:
    """The same reconnection through the contact centre's voice menu, mobile and fixed, as the operator wrote it."""
    texts = [turn.content(turn.profile.texts[name]) for name in PHONE_TEXTS if name in turn.profile.texts]
    if not texts:
        raise StalePayload(turn.payload)
    turn.finish()
    turn.say("\n\n".join(texts), [[Button(turn._("⬅ Back to the accounts"), FEATURE)], [menu_button(turn)]])


@router.payload(CHOOSE)
async def choose(turn: Turn) -> None:
    """Step 4: the debt, how to pay, the terms; then the question with DA / NE."""
    offered(turn)
    who = await require_identity(turn)
    if who is None:
        return
    account = await identity.owned_account(turn, who, turn.arg)
    if waiting := account.waiting_order(OrderKind.RECONNECT_ON_PROMISE):
        say_waiting(turn, account, waiting)
        return
    verdict = await rules(turn).check(account, turn.now)
    if verdict.terms is None:
        refuse(turn, account, verdict)
        return
    terms = verdict.terms
    amount = turn.money(terms.debt, terms.currency)
    days = turn.profile.policies.promise_days
    services = [turn.content(s.name) for s in turn.profile.services if (on := account.service(s.code)) and on.enabled]
    about = account_line(turn, account)
    if services:
        about += "\n" + turn._("Services on this account: {services}").format(services=", ".join(services))
    text = "\n\n".join(
        [
            about,
            turn._("Debt: {amount}").format(amount=amount),
            turn.content(turn.profile.text("payment_info")),
            turn.ngettext(
                "If you promise to pay, your services will be switched on again now and you have {count} day to pay "
                "{amount}, by {date}. If the debt is not paid by then, the services will be disconnected again.",
                "If you promise to pay, your services will be switched on again now and you have {count} days to pay "
                "{amount}, by {date}. If the debt is not paid by then, the services will be disconnected again.",
                days,
            ).format(count=days, amount=amount, date=turn.date(terms.due_at)),
            turn._("Do you want the reconnection on promise?"),
        ]
    )
    turn.goto("reconnect.confirm")  # read by no handler: a question pending, which the idle timeout drops
    turn.confirm(text, Button(turn._("YES"), f"{YES}:{account.id}"), Button(turn._("NO"), NO))


@router.payload(YES)
async def confirm(turn: Turn) -> None:
    """Step 5: the order. A fresh identification first; a second "DA" finds the order the first one placed."""
    offered(turn)
    who = await require_identity(turn, fresh=True)
    if who is None:
        return
    account = await identity.owned_account(turn, who, turn.arg)
    outcome = await rules(turn).promise(account, turn.now, turn.user)
    turn.finish()
    order = outcome.order
    if order is None:
        refuse(turn, account, outcome.verdict)
        return
    due = turn.date(order.due_at) if order.due_at else ""
    turn.say(
        turn._(
            "An order has been issued to switch your services on again (account {account}). Order number: {number}. "
            "Please pay the debt by {date}."
        ).format(account=account.number, number=order.number, date=due),
        [[menu_button(turn)]],
    )


@router.payload(NO)
async def decline(turn: Turn) -> None:
    turn.finish()
    turn.say(turn._("All right, I have not issued any order. The services stay disconnected."))
    await show_menu(turn)


def refuse(turn: Turn, account: AccountInfo, verdict: Verdict) -> None:
    """Every rule that stops a promise has its own answer, and the way back to the menu."""
    turn.finish()
    if verdict.refusal is Refusal.ALREADY_USED and verdict.again_at is not None:
        days = turn.profile.policies.promise_period_days
        text = turn.ngettext(
            "A reconnection on promise for the account {account} was already given in the last {count} day. "
            "The next one is possible from {date}; until then the services are switched on after payment.",
            "A reconnection on promise for the account {account} was already given in the last {count} days. "
            "The next one is possible from {date}; until then the services are switched on after payment.",
            days,
        ).format(account=account.number, count=days, date=turn.date(verdict.again_at))
    elif verdict.refusal is Refusal.OVER_LIMIT and verdict.limit is not None:
        text = turn._(
            "The debt on the account {account} is {amount}, more than the {limit} up to which a reconnection on "
            "promise is possible. The services are switched on after payment."
        ).format(
            account=account.number,
            amount=turn.money(account.debt, account.currency),
            limit=turn.money(verdict.limit, account.currency),
        )
    else:
        message = REFUSALS.get(verdict.refusal or Refusal.NOT_DISCONNECTED, REFUSALS[Refusal.NOT_DISCONNECTED])
        text = turn._(message).format(account=account.number)
        if verdict.refusal in (Refusal.NOT_FOR_DEBT, Refusal.NO_DEBT):
            text += "\n" + contact_centre_line(turn)
    turn.say(text, [[menu_button(turn)]])
