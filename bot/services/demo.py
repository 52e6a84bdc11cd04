"""Demo subscribers for both profiles, written through the real importer (`mila db seed-demo`, `make demo`).

Every case the flows need has someone: a line disconnected for debt (reconnection on promise), one disconnected
for another reason (no promise possible), a suspended line (resume), a customer with several accounts of every
kind, a corporate customer, a customer with nothing disconnected, and a prepaid tariff where the internet package
is not allowed. The README lists these identities. All names, numbers, code words and passports are invented.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.profiles import Profile
from bot.services.importer import ImportReport, import_records

_RS_ALL_OFF = {"antiaon": False, "antiaon_breaker": False, "forwarding": False, "conference": False}

RS: list[dict[str, Any]] = [
    {
        # Several accounts; the mobile line is disconnected for debt: reconnection on promise.
        "customer_code": "1234567", "full_name": "Petar Petrović", "segment": "private",
        "phone": "+381 64 1234567", "code_word": "Šljiva", "passport": "012345678",
        "accounts": [
            {"number": "1234567/1", "kind": "mobile", "phone": "+381 64 1234567", "status": "disconnected",
             "puk": "40817263",
             "disconnect_reason": "debt", "debt": "2340.50", "currency": "RSD", "tariff": "Postpaid S",
             "bills": [{"period": "2026-10", "amount": "1170.25", "due": "2026-11-15"},
                       {"period": "2026-11", "amount": "1170.25", "due": "2026-12-15"}],
             "services": {"sms": True, "gprs": True, "mms": False, "roaming": False, "internet_pkg": False,
                          "sms_pkg": False, "call_waiting": True, **_RS_ALL_OFF}},
            {"number": "1234567/2", "kind": "fixed", "phone": "011 3456789", "status": "active", "debt": "0.00",
             "currency": "RSD", "tariff": "Fiksni Standard", "services": {"forwarding": False, "antiaon": False}},
        ],
    },
    {
        # Nothing disconnected: the reconnect flow must say so; services can be turned on and off.
        "customer_code": "2345678", "full_name": "Jelena Jovanović", "segment": "private",
        "phone": "+381 65 2345678",
        "accounts": [
            {"number": "2345678/1", "kind": "mobile", "phone": "065 2345678", "status": "active", "debt": "0.00",
             "currency": "RSD", "tariff": "Postpaid M",
             "services": {"sms": True, "gprs": True, "mms": True, "roaming": True, "internet_pkg": True,
                          "sms_pkg": False, "call_waiting": True, **_RS_ALL_OFF}},
            {"number": "2345678/2", "kind": "tv", "status": "active", "debt": "0.00", "currency": "RSD",
             "tariff": "mts TV Start"},
        ],
    },
    {
        # Fixed-network services disconnected for debt: a BOX bundle and internet.
        "customer_code": "3456789", "full_name": "Marko Nikolić", "segment": "private",
        "phone": "+381 63 3456789",
        "accounts": [
            {"number": "3456789/1", "kind": "box", "phone": "011 4567890", "status": "disconnected",
             "disconnect_reason": "debt", "debt": "5120.00", "currency": "RSD", "tariff": "mts BOX Plus",
             "bills": [{"period": "2026-11", "amount": "5120.00", "due": "2026-12-15"}]},
            {"number": "3456789/2", "kind": "internet", "status": "disconnected", "disconnect_reason": "debt",
             "debt": "1890.00", "currency": "RSD", "tariff": "Internet 100"},
            {"number": "3456789/3", "kind": "tv", "status": "disconnected", "disconnect_reason": "debt",
             "debt": "990.00", "currency": "RSD", "tariff": "mts TV Start"},
        ],
    },
    {
        # A company: corporate segment, several mobile lines, one disconnected for debt.
        "customer_code": "4567890", "full_name": "Telekom Servis d.o.o.", "segment": "corporate",
        "phone": "+381 11 7654321",
        "accounts": [
            {"number": "4567890/1", "kind": "mobile", "phone": "063 4567890", "status": "active", "debt": "0.00",
             "currency": "RSD", "tariff": "Biznis Postpaid",
             "services": {"sms": True, "gprs": True, "roaming": True, "conference": True}},
            {"number": "4567890/2", "kind": "mobile", "phone": "063 4567891", "status": "disconnected",
             "disconnect_reason": "debt", "debt": "15400.00", "currency": "RSD", "tariff": "Biznis Postpaid",
             "services": {"sms": True, "gprs": True, "roaming": False}},
            {"number": "4567890/3", "kind": "fixed", "phone": "011 7654321", "status": "active", "debt": "0.00",
             "currency": "RSD", "tariff": "Biznis Fiksni"},
        ],
    },
    {
        # Prepaid Basic: the internet package is not allowed in this tariff.
        "customer_code": "5678901", "full_name": "Milica Đorđević", "segment": "private",
        "phone": "+381 66 5678901",
        "accounts": [
            {"number": "5678901/1", "kind": "mobile", "phone": "066 5678901", "status": "active", "debt": "0.00",
             "currency": "RSD", "tariff": "Prepaid Basic",
             "services": {"sms": True, "gprs": True, "mms": False, "internet_pkg": False, "sms_pkg": False}},
        ],
    },
    {
        # Suspended at the subscriber's request (resume), and a line disconnected on request: no promise possible.
        "customer_code": "6789012", "full_name": "Nikola Stanković", "segment": "private",
        "phone": "+381 64 6789012",
        "accounts": [
            {"number": "6789012/1", "kind": "mobile", "phone": "064 6789012", "status": "suspended", "debt": "0.00",
             "currency": "RSD", "tariff": "Postpaid S", "services": {"sms": True, "gprs": True}},
            {"number": "6789012/2", "kind": "mobile", "phone": "064 6789013", "status": "disconnected",
             "disconnect_reason": "request", "debt": "0.00", "currency": "RSD", "tariff": "Postpaid S"},
        ],
    },
    {
        # A line blocked for inactivity (unblocking in "my account"); reconnection on promise cannot undo it.
        "customer_code": "7890123", "full_name": "Ana Marković", "segment": "private", "phone": "+381 64 7890123",
        "accounts": [
            {"number": "7890123/1", "kind": "mobile", "phone": "064 7890123", "status": "disconnected",
             "disconnect_reason": "inactivity", "debt": "0.00", "currency": "RSD", "tariff": "Prepaid Basic",
             "services": {"sms": True, "gprs": False}},
        ],
    },
]  # fmt: skip

_TM_BASE = {"sms": True, "gprs": True, "mms": False, "roaming": False, "forwarding": False, "call_waiting": True,
            "antiaon": False, "antiaon_breaker": False, "conference": False, "internet_pkg": False,
            "sms_pkg": False}  # fmt: skip

TM: list[dict[str, Any]] = [
    {
        # Code word and passport; every service can be tried.
        "customer_code": "8100001", "full_name": "Aýna Öwezowa", "segment": "private", "phone": "+993 65 123456",
        "code_word": "Gülälek", "passport": "I-AŞ 123456",
        "accounts": [
            {"number": "8100001/1", "kind": "mobile", "phone": "+993 65 123456", "status": "active", "debt": "0.00",
             "puk": "12345678",
             "currency": "TMT", "tariff": "Standart", "services": dict(_TM_BASE)},
        ],
    },
    {
        # Two lines, one suspended (resume) and one with a debt.
        "customer_code": "8100002", "full_name": "Serdar Şamyradow", "segment": "private", "phone": "+993 61 234567",
        "code_word": "Ýyldyz", "passport": "I-AŞ 654321",
        "accounts": [
            {"number": "8100002/1", "kind": "mobile", "phone": "+993 61 234567", "status": "active", "debt": "12.40",
             "bills": [{"period": "2026-11", "amount": "12.40", "due": "2026-12-10"}],
             "currency": "TMT", "tariff": "Ýeňil", "services": {**_TM_BASE, "roaming": True, "internet_pkg": True}},
            {"number": "8100002/2", "kind": "mobile", "phone": "+993 61 234568", "status": "suspended",
             "debt": "0.00", "currency": "TMT", "tariff": "Ýeňil", "services": dict(_TM_BASE)},
        ],
    },
    {
        # Passport only, no code word; the line is disconnected for debt.
        "customer_code": "8100003", "full_name": "Gülşat Nurmuhammedowa", "segment": "private",
        "phone": "+993 64 345678", "passport": "I-MR 112233",
        "accounts": [
            {"number": "8100003/1", "kind": "mobile", "phone": "+993 64 345678", "status": "disconnected",
             "disconnect_reason": "debt", "debt": "45.30", "currency": "TMT", "tariff": "Standart",
             "services": dict(_TM_BASE)},
        ],
    },
    {
        # A company with a code word and three lines.
        "customer_code": "8100004", "full_name": "Altyn Ýol HJ", "segment": "corporate", "phone": "+993 12 445566",
        "code_word": "Bereket",
        "accounts": [
            {"number": f"8100004/{n}", "kind": "mobile", "phone": f"+993 63 44556{n}", "status": "active",
             "debt": "0.00", "currency": "TMT", "tariff": "Biznes", "services": {**_TM_BASE, "conference": True}}
            for n in (1, 2, 3)
        ],
    },
    {
        # Mobile, a fixed line in Ashgabat and home internet.
        "customer_code": "8100005", "full_name": "Meret Çaryýew", "segment": "private", "phone": "+993 62 556677",
        "code_word": "Köpetdag", "passport": "I-LB 445566",
        "accounts": [
            {"number": "8100005/1", "kind": "mobile", "phone": "+993 62 556677", "status": "active", "debt": "0.00",
             "currency": "TMT", "tariff": "Standart", "services": dict(_TM_BASE)},
            {"number": "8100005/2", "kind": "fixed", "phone": "+993 12 345678", "status": "active", "debt": "3.75",
             "currency": "TMT", "tariff": "Öý telefony"},
            {"number": "8100005/3", "kind": "internet", "status": "active", "debt": "0.00", "currency": "TMT",
             "tariff": "Öý interneti"},
        ],
    },
    {
        # Name and code word with the letters ň, ž and ä; nothing disconnected.
        "customer_code": "8100006", "full_name": "Žemal Täçmämmedowa", "segment": "private",
        "phone": "+993 71 667788", "code_word": "Ýaňy gün", "passport": "I-DZ 778899",
        "accounts": [
            {"number": "8100006/1", "kind": "mobile", "phone": "+993 71 667788", "status": "active", "debt": "0.00",
             "currency": "TMT", "tariff": "Ýeňil", "services": dict(_TM_BASE)},
        ],
    },
    {
        # A line blocked for inactivity: "Belgini aktiw dällik blokdan açmak" in "my account".
        "customer_code": "8100007", "full_name": "Merjen Annaýewa", "segment": "private",
        "phone": "+993 65 778899", "code_word": "Arçabil", "passport": "I-AH 990011",
        "accounts": [
            {"number": "8100007/1", "kind": "mobile", "phone": "+993 65 778899", "status": "disconnected",
             "disconnect_reason": "inactivity", "debt": "0.00", "currency": "TMT", "tariff": "Standart",
             "services": dict(_TM_BASE)},
        ],
    },
]  # fmt: skip

DEMO: dict[str, list[dict[str, Any]]] = {"rs": RS, "tm": TM}


async def seed_demo(db: AsyncSession, profile: Profile, key: bytes) -> ImportReport:
    """Load the demo subscribers of this profile (idempotent: seeding twice changes nothing)."""
    return await import_records(db, DEMO[profile.id], profile, key)
