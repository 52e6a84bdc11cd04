"""How an intent is named on a button of the clarifying question ("Da li ste mislili: …?"): the labels the flows
already show for the same action, so the subscriber recognises them."""

from __future__ import annotations

from bot.core.i18n import N_

LABELS = {
    "menu": N_("Main menu"),
    "help": N_("❓ Help"),
    "contacts": N_("Contacts"),
    "language": N_("🌐 Language"),
    "logout": N_("🔓 Log out"),
    "news": N_("📰 News"),
    "account": N_("My account"),
    "pin": N_("🔑 PIN and PUK"),
    "complaints": N_("Complaints and requests"),
    "cstatus": N_("🔎 Status of my request"),
    "reconnect": N_("Reconnect on promise"),
    "services": N_("Services: turn on or off"),
    "operator": N_("Talk to an operator"),
    "consultations": N_("Consultations"),
    "acomp": N_("🧾 What makes up the amount"),
    "asusp": N_("⏸ Suspend or resume a line"),
    "afav": N_("⭐ Favourite number"),
    "adisc": N_("🎁 Discount package"),
    "ainv": N_("📄 Invoice for advance payment"),
    "aunbl": N_("🔓 Unblock a line blocked for inactivity"),
    "code_word": N_("What a code word is"),
}
