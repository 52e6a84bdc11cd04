"""The invoice for advance payment as a PDF: what the help desk used to fax, now a document in the chat.

fpdf2 writes the PDF; the font is Noto Sans, shipped on PyPI by `fontpkg-noto-sans`, because it has every letter
the bot writes: Serbian Latin (č ć đ š ž) and Cyrillic (ђ ћ џ љ њ), and Turkmen (ä ç ň ö ş ü ý ž). The text is
embedded as Unicode, so the PDF can be searched and read back (the tests do). Rendering takes a noticeable moment
of CPU, so `advance_invoice` (what the flow calls: the invoice's texts in the user's language, then the PDF) runs
it in a thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import fontpkg_noto_sans
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.core.i18n import Translator
from bot.profiles import Profile
from bot.services.backend import AccountInfo, SubscriberInfo

FONT_FILE = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"
FONT = "NotoSans"


@dataclass(frozen=True, slots=True)
class InvoiceText:
    """Everything printed, already localized by the flow: the PDF knows no language."""

    title: str
    number_line: str
    seller: list[str]
    buyer_heading: str
    buyer: list[str]
    rows: list[tuple[str, str]]  # label, value
    total: tuple[str, str]
    notes: list[str]
    payment_heading: str = ""
    payment: list[tuple[str, str]] = field(default_factory=list)  # what a payment slip needs: payee, account, …


def render_invoice(text: InvoiceText) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(text.title)
    pdf.set_creator("mila")
    pdf.add_font(FONT, "", str(FONT_FILE))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(value: str, size: float = 10, height: float = 6) -> None:
        pdf.set_font(FONT, size=size)
        pdf.multi_cell(width, height, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    for seller_line in text.seller:
        line(seller_line, 9, 5)
    pdf.ln(6)
    line(text.title, 18, 10)
    line(text.number_line, 10)
    pdf.ln(4)
    line(text.buyer_heading, 11)
    for buyer_line in text.buyer:
        line(buyer_line)
    pdf.ln(4)
    pdf.set_font(FONT, size=10)
    for label, value in [*text.rows, text.total]:
        pdf.cell(width * 0.6, 8, label, border="B")
        pdf.cell(width * 0.4, 8, value, border="B", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    if text.payment:
        line(text.payment_heading, 11)
        for label, value in text.payment:
            pdf.cell(width * 0.4, 7, label)
            pdf.cell(width * 0.6, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)
    for note in text.notes:
        line(note, 9, 5)
    return bytes(pdf.output())


async def advance_invoice(
    t: Translator,
    profile: Profile,
    *,
    number: str,
    at: datetime,
    subscriber: SubscriberInfo,
    account: AccountInfo,
    kind: str,
    amount: Decimal,
) -> bytes:
    """The invoice for advance payment `number` of `amount` for `account` (`kind`: its kind, localized), as a PDF in
    the language of `t`: the seller from the profile, the buyer, the account, what a payment slip needs."""
    _ = t.gettext
    currency = account.currency or profile.currency  # as `Turn.money` has it
    seller = [profile.operator]
    if profile.postal_address:
        seller.append(t.script(profile.postal_address))
    for phone in (profile.contact_centre, *profile.phones):  # every number a payer may need to call
        seller.append(_("{label}: {number}").format(label=t.content(phone.label), number=phone.number))
    seller.append(", ".join(e.address for e in profile.emails))
    text = InvoiceText(
        title=_("Invoice for advance payment"),
        number_line=_("No. {number} of {date}").format(number=number, date=t.date(at, profile.zone)),
        seller=seller,
        buyer_heading=_("Customer"),
        buyer=[
            t.script(subscriber.full_name),
            _("Customer code: {code}").format(code=subscriber.customer_code),
        ],
        rows=[
            (_("Account"), f"{account.number} · {kind}"),
            (_("Tariff plan"), account.tariff or "-"),
            (_("Current debt"), t.money(account.debt, currency)),
        ],
        total=(_("Amount to pay in advance"), t.money(amount, currency)),
        notes=[
            _("Quote the account number {account} when you pay.").format(account=account.number),
            _("The advance is credited to the account and settles the next bills."),
        ],
        payment_heading=_("For the payment"),
        payment=_payment_rows(t, profile, account, subscriber.customer_code, amount),
    )
    return await asyncio.to_thread(render_invoice, text)  # a noticeable moment of CPU: off the event loop


def _payment_rows(
    t: Translator, profile: Profile, account: AccountInfo, customer_code: str, amount: Decimal
) -> list[tuple[str, str]]:
    """What a payment slip needs, where the profile has it (the profile check warns where it does not)."""
    _ = t.gettext
    payment = profile.payment
    if payment is None:
        return []
    rows = [
        (_("Payee"), t.script(payment.payee)),
        (_("Payee's account"), payment.account),
    ]
    if payment.model:
        rows.append((_("Model"), payment.model))
    reference = payment.reference.format(customer_code=customer_code, account=account.number)
    rows.append((_("Payment reference"), reference))
    if payment.purpose:
        rows.append((_("Purpose of payment"), t.content(payment.purpose)))
    rows.append((_("Amount"), t.money(amount, account.currency or profile.currency)))
    return rows
