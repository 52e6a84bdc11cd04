"""Sentences typed the way subscribers type them reach the right flow, and the step they name.

The issue's examples, in both profiles and all three scripts: a sentence does what pressing its button does (the
replies are compared), and where it names a step (a service and off, a period, an amount) the user lands on that
step's question. Then the dialogue around it: the clarifying question, the second miss, yes and no words, the offer
to switch language, the states that read the user's own words, and the masked record for the operator."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.core.engine import offered_intents
from bot.core.i18n import N_
from bot.core.text import latin_to_cyrillic
from bot.db.models import Account, AccountService, UnderstandingEvent
from tests.chat import Chat
from tests.conftest import App, AppFactory
from tests.helpers import code_in, new_chat, rs_identified, seeded, sms_sent, tm_identified

SCRIPTS = {"Srpski": "sr", "Српски": "sr-Cyrl", "Türkmençe": "tk"}

# typed → the payload whose reply it must give (typed at the main menu by an identified subscriber)
RS_ROUTES = {
    "sr": [
        ("ćao", "talk:hello"),
        ("dobro veče", "talk:hello"),
        ("ne znam pin od kartice", "apin"),
        ("treba mi neko živ da mi objasni račun", "operator"),
        ("koliko dugujem ovog meseca", "account"),
    ],
    "tk": [
        ("salam aleýkum", "talk:hello"),
        ("PUK kodumy nädip bilip bilerin", "apin"),
        ("näçe tölemeli", "account"),
        ("janly adam bilen gepleşmek", "operator"),
    ],
}
TM_ROUTES = {
    "tk": [
        *RS_ROUTES["tk"],
        ("telefonymy sazlamak barada maslahat", "ctopic:device_setup"),
        ("kod sözi näme", "code_word"),
    ],
    "sr": [*RS_ROUTES["sr"], ("sta je kodna rec", "code_word")],
}
RECONNECT = ("telefon mi ne radi jer kasnim sa uplatom, uključite me molim vas",
             "Мој број је искључен због дуга, платићу сутра")  # fmt: skip


def part(app: App, lang: str, msgid: str) -> str:
    """The longest literal piece of a message's translation: what the reply must contain."""
    text = app.deps.i18n.get(lang).gettext(msgid)
    return max(re.split(r"\{[^}]*\}", text), key=len).strip()


def typed_in(script: str, sentence: str) -> str:
    return latin_to_cyrillic(sentence) if script == "sr-Cyrl" else sentence


async def same_as_button(chat: Chat, typed: str, payload: str) -> None:
    await chat.press_payload(payload)
    expected = chat.texts
    await chat.press_payload("menu")
    await chat.say(typed)
    assert chat.texts == expected, f"{typed!r} did not do what {payload} does:\n{chat.text}\n--- expected:\n{expected}"


async def identified(app: App, profile: str, language: str) -> Chat:
    if profile == "rs":
        return await rs_identified(app, "+381652345678", language)
    return await tm_identified(app, "+993 65 123456", "Gülälek", language)


@pytest.mark.parametrize("profile", ["rs", "tm"])
@pytest.mark.parametrize("language", list(SCRIPTS))
async def test_the_issues_sentences_reach_their_flow(make_app: AppFactory, profile: str, language: str) -> None:
    app = await seeded(make_app, profile)
    chat = await identified(app, profile, language)
    script = SCRIPTS[language]
    routes = (RS_ROUTES if profile == "rs" else TM_ROUTES)[script.split("-")[0]]
    for typed, payload in routes:
        await same_as_button(chat, typed_in(script, typed), payload)


# One sentence per intent, none of them a training phrase (except the issue's "kod sözi näme"), typed at the main
# menu: it does what the intent's button does. "forget" and "logout" are looked at on their own, last.
EACH_INTENT = {
    "sr": {
        "menu": "vratite me na glavni meni",
        "help": "kako se ovo koristi, pomozite",
        "contacts": "koji je broj vaseg kontakt centra",
        "language": "zelim da promenim jezik",
        "news": "ima li nekih novosti i akcija",
        "account": "hocu da vidim stanje na racunu",
        "acomp": "od cega se sastoji iznos koji dugujem",
        "asusp": "zelim da privremeno suspendujem liniju",
        "afav": "kako da podesim omiljeni broj",
        "adisc": "da li imate neki paket sa popustom",
        "ainv": "treba mi predracun za avansnu uplatu",
        "aunbl": "broj mi je blokiran jer ga dugo nisam koristio",
        "code_word": "sta je to kodna rec",
        "complaints": "hocu da podnesem prigovor",
        "cstatus": "sta je sa mojom reklamacijom",
        "operator": "hocu da pricam sa operaterom",
        "pin": "zaboravio sam pin kod",
        "reconnect": "iskljucili ste mi telefon a platicu sutra",
        "services": "hocu da ukljucim neku uslugu",
        "consultations": "trebao bi mi jedan savet",
        "talk:hello": "dobro jutro svima",
        "talk:thanks": "hvala vam puno",
        "talk:bye": "prijatno, cujemo se",
        "talk:insult": "ti si bas glupa",
        "talk:robot": "da li si ti robot",
        "cancel": "prekini",  # leaving a flow has keywords, no phrases
        "forget": "obrisite sve moje podatke",
        "logout": "odjavite me sa naloga molim vas",
        "ctopic:accounts_join": "hocu da spojim moja dva racuna",
        "ctopic:payments": "koji su sve nacini placanja",
        "ctopic:vip": "imate li uslugu za vip korisnike",
        "ctopic:device_setup": "kako da podesim novi telefon",
        "ctopic:data_setup": "kako da podesim apn za internet",
        "ctopic:roaming": "koliko me kosta roming u inostranstvu",
        "ctopic:gudok": "hocu melodiju umesto zvona, gudok",
        "ctopic:bills_split": "kako da razdvojim racun na dva dela",
        "ctopic:finance": "imam jedno finansijsko pitanje",
    },
    "tk": {
        "menu": "esasy menýuny görkez",
        "help": "maňa kömek gerek, bu nähili işleýär",
        "contacts": "size nädip jaň edip bilerin",
        "language": "dili üýtgetmek isleýärin",
        "news": "täzelikler barmy",
        "account": "hasabymda näçe pul galdy",
        "acomp": "bu bergi nämeden ybarat",
        "asusp": "belgimi wagtlaýyn togtatmak isleýärin",
        "afav": "söýgüli belgini nädip saýlamaly",
        "adisc": "arzanladyşly paket barmy",
        "ainv": "öňünden töleg üçin hasap-faktura gerek",
        "aunbl": "belgim ulanmandygym üçin bloklandy",
        "code_word": "kod sözi näme",
        "complaints": "şikaýat bermek isleýärin",
        "cstatus": "arzymyň ýagdaýy näme",
        "operator": "operator bilen gepleşmek isleýärin",
        "pin": "PIN kodumy ýatdan çykardym",
        "reconnect": "bergim üçin öçürildi, ertir tölärin",
        "services": "hyzmat birikdirmek isleýärin",
        "consultations": "maslahat gerekdi",
        "talk:hello": "salam, ýagdaýlar nähili",
        "talk:thanks": "köp sag boluň",
        "talk:bye": "hoş galyň",
        "talk:insult": "samsyk bot",
        "talk:robot": "sen hakykatdan robotmy",
        "cancel": "bes et",
        "forget": "maglumatlarymy pozuň",
        "logout": "hasapdan çykmak isleýärin",
        "ctopic:accounts_join": "iki hasabymy birleşdirmek isleýärin",
        "ctopic:payments": "nähili usullar bilen töläp bilerin",
        "ctopic:vip": "vip müşderiler üçin hyzmat barmy",
        "ctopic:device_setup": "täze telefonymy nädip sazlamaly",
        "ctopic:data_setup": "mobil internetiň apn sazlamalary",
        "ctopic:roaming": "rouming barada bir soragym bar",
        "ctopic:gudok": "gudok hyzmaty barada maslahat",
        "ctopic:bills_split": "hasabymy nädip ikä bölmeli",
        "ctopic:finance": "maliýe barada bir soragym bar",
    },
}
INTENT_PAYLOADS = {"pin": "apin"}  # an intent and the payload of its button, where they differ
FORGET = N_(
    "I can delete what I keep about you in this chat: your language, your consents, the link to your subscriber "
    "account and our conversation. Orders you have placed are kept, as the law requires, but they will no longer "
    "be linked to this chat. Shall I delete your data?"
)
LOGGED_OUT = N_("You are logged out. Next time I will ask you to identify yourself again.")


@pytest.mark.parametrize("profile", ["rs", "tm"])
@pytest.mark.parametrize("language", list(SCRIPTS))
async def test_every_intent_is_understood_in_both_profiles_and_every_script(
    make_app: AppFactory, profile: str, language: str
) -> None:
    app = await seeded(make_app, profile)
    chat = await identified(app, profile, language)
    script = SCRIPTS[language]
    offered = offered_intents(app.engine.router, app.deps.profile)
    sentences = EACH_INTENT[script.split("-")[0]]
    assert offered - {"yes", "no"} <= set(sentences), "an intent without a sentence here"
    for intent, typed in sentences.items():
        if intent in offered and intent not in ("forget", "logout"):
            await same_as_button(chat, typed_in(script, typed), INTENT_PAYLOADS.get(intent, intent))
    await chat.say(typed_in(script, sentences["forget"]))
    chat.expect(part(app, script, FORGET))
    await chat.press_payload("menu")
    await chat.say(typed_in(script, sentences["logout"]))
    chat.expect(part(app, script, LOGGED_OUT))


@pytest.mark.parametrize("language", ["Srpski", "Српски"])
async def test_a_sentence_about_a_debt_reconnects_on_promise(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", language)
    for typed in RECONNECT:
        await same_as_button(chat, typed, "reconnect")


@pytest.mark.parametrize("language", list(SCRIPTS))
async def test_a_named_service_and_off_go_straight_to_the_confirmation(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381665678901", language)  # GPRS on, MMS and the packages off
    script = SCRIPTS[language]
    await chat.say(typed_in(script, "ugasite mi gprs") if script != "tk" else "gprs öçürmek isleýärin")
    chat.expect(part(app, script, "Turn off {service} on {line}?"), "5678901/1", "GPRS")
    await chat.press(app.deps.i18n.get(script).gettext("Yes, turn it off"))
    chat.expect(part(app, script, "Done: the order to turn off {service} on {line} has been placed. Order number: "
                                  "{number}."))  # fmt: skip
    await chat.say("sms bukjany öçürmek isleýärin" if script == "tk" else typed_in(script, "ukljucite sms pakete"))
    chat.expect(part(app, script, "Turn on {service} on {line}?" if script != "tk" else "{service} is already off on "
                                                                                          "{line}."))  # fmt: skip
    await chat.say(typed_in(script, "kako da pustim roming pre puta") if script != "tk" else "roumingi birikdir")
    chat.expect(part(app, script, "None of your lines has {service}."))
    chat = await rs_identified(app, "+381652345678", language)  # roaming on
    await chat.say(typed_in(script, "kako da pustim roming pre puta") if script != "tk" else "roumingi birikdir")
    chat.expect(part(app, script, "{service} is already on on {line}."))


async def test_turkmen_services_by_name_in_the_tm_profile(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")  # roaming off, SMS on
    await chat.say("roumingi birikdirmek isleýärin")
    chat.expect(part(app, "tk", "Turn on {service} on {line}?"), "Halkara ygtyýarlylyk")
    await chat.say("sms öçürmek isleýärin")
    chat.expect(part(app, "tk", "Turn off {service} on {line}?"))


async def set_service(app: App, number: str, code: str, enabled: bool) -> None:
    """The billing data mila holds: `code` on or off on the account `number`."""
    async with app.deps.sessionmaker() as db:
        account = (await db.execute(select(Account).where(Account.number == number))).scalar_one()
        row = (
            await db.execute(
                select(AccountService).where(AccountService.account_id == account.id, AccountService.code == code)
            )
        ).scalar_one()
        row.enabled = enabled
        await db.commit()


@pytest.mark.parametrize("language", list(SCRIPTS))
async def test_roaming_before_a_trip_goes_to_the_roaming_confirmation(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    await set_service(app, "2345678/1", "roaming", False)
    chat = await rs_identified(app, "+381652345678", language)
    script = SCRIPTS[language]
    await chat.say(typed_in(script, "kako da pustim roming pre puta") if script != "tk" else "roumingi birikdir")
    roaming = app.deps.profile.service("roaming")
    assert roaming is not None
    service = roaming.name[script.split("-")[0]]
    chat.expect(part(app, script, "Turn on {service} on {line}?"), "2345678/1")
    assert typed_in(script, service) in chat.text or service in chat.text, chat.text
    await chat.say(typed_in(script, "može") if script != "tk" else "bolýar")
    chat.expect(part(app, script, "Done: the order to turn on {service} on {line} has been placed. Order number: "
                                  "{number}."))  # fmt: skip


async def test_sms_packages_off_in_turkmen_goes_to_their_confirmation(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    await set_service(app, "8100001/1", "sms_pkg", True)
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.say("sms bukjany öçürmek isleýärin")
    chat.expect(part(app, "tk", "Turn off {service} on {line}?"), "SMS-bukjalar", "8100001/1")
    await chat.say("ýok, gerek däl")
    chat.expect(part(app, "tk", "Services on {line}:"))


@pytest.mark.parametrize(("profile", "language"), [("rs", "Srpski"), ("rs", "Српски"), ("tm", "Türkmençe")])
async def test_a_request_named_by_its_reference_shows_its_status(
    make_app: AppFactory, profile: str, language: str
) -> None:
    app = await seeded(make_app, profile)
    script = SCRIPTS[language]
    chat = await identified(app, profile, language)
    asks = typed_in(script, "sta je sa mojim prigovorom {}") if script != "tk" else "{} arzymyň ýagdaýy näme"
    await chat.say(asks.format("r-20481736"))  # nobody's
    chat.expect(part(app, script, "I found no request of yours with the reference {reference}."), "R-20481736")
    await chat.press_payload("complaints")
    await chat.press_payload("cnew")
    await chat.press(chat.labels[0])  # the first category
    await chat.say(typed_in(script, "Račun za oktobar je previsok.") if script != "tk" else "Hasap gaty köp.")
    await chat.press("📨")
    reference = re.search(r"R-\d{8}", chat.text)
    assert reference, chat.text
    await chat.press_payload("menu")
    await chat.say(asks.format(reference.group(0).lower()))
    chat.expect(part(app, script, "Request {reference}"), reference.group(0))


@pytest.mark.parametrize("language", list(SCRIPTS))
async def test_a_language_named_in_a_sentence_is_switched_to(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", language)
    script = SCRIPTS[language]
    wanted = {"sr": "tk", "sr-Cyrl": "tk", "tk": "sr"}[script]
    typed = {"sr": "hoću da pišete na turkmenskom", "sr-Cyrl": typed_in(script, "možete li na turkmenskom"),
             "tk": "serb dilinde ýazyň"}[script]  # fmt: skip
    await chat.say(typed)
    chat.expect(part(app, wanted, "Language changed to {language}."))
    chat.expect_not(part(app, script, "Language changed to {language}."))


@pytest.mark.parametrize("language", ["Türkmençe", "Srpski", "Српски"])
async def test_a_line_named_in_the_sentence_is_not_asked_about(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz", language)  # two lines, MMS off on both
    script = SCRIPTS[language]
    asks = "{}mms birikdiriň" if script == "tk" else typed_in(script, "uključite mms{}")
    await chat.say(asks.format(""))
    chat.expect(part(app, script, "On which line?"))
    await chat.press_payload("menu")
    await chat.say(asks.format("8100002/1 belgide " if script == "tk" else " na 8100002/1"))
    chat.expect(part(app, script, "Turn on {service} on {line}?"), "8100002/1")
    chat.expect_not(part(app, script, "On which line?"), "8100002/2")
    await chat.press_payload("menu")
    await chat.say(asks.format("8100001/1 belgide " if script == "tk" else " na 8100001/1"))  # not theirs
    chat.expect(part(app, script, "On which line?"))
    chat.expect_not("8100001/1")


@pytest.mark.parametrize("language", ["Srpski", "Српски"])
async def test_a_suspension_for_two_weeks_asks_only_to_confirm(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381665678901", language)  # one active line
    script = SCRIPTS[language]
    await chat.say(typed_in(script, "hoću da suspendujem broj na dve nedelje"))
    chat.expect("5678901/1", "14")  # the suspension's own question: the line, the period, the day it works again
    await chat.press(app.deps.i18n.get(script).gettext("Yes, suspend it"))
    chat.expect(part(app, script, "I have ordered the suspension of {account}. It will work again on {date}."))


@pytest.mark.parametrize("language", ["Srpski", "Српски"])
async def test_an_invoice_for_the_amount_named_is_confirmed_then_made(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381665678901", language)
    script = SCRIPTS[language]
    await chat.say(typed_in(script, "pošaljite mi predračun na 1500 dinara"))
    chat.expect(part(app, script, "Shall I make the invoice for advance payment for {account} of {amount}?"), "1.500")
    await chat.press(app.deps.i18n.get(script).gettext("Yes, make the invoice"))
    chat.expect(part(app, script, "Here is the invoice for advance payment for {account}: {amount}."), "1.500")


async def test_a_period_and_an_amount_in_turkmen_fill_their_steps(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")  # one line
    await chat.say("belgimi on dört gün togtatmak isleýärin")
    chat.expect("8100001/1", "14")  # the suspension's own question, 14 days chosen
    await chat.press(app.deps.i18n.get("tk").gettext("Yes, suspend it"))
    chat.expect(part(app, "tk", "I have ordered the suspension of {account}. It will work again on {date}."))
    await chat.say("50 manat üçin öňünden töleg hasap-fakturasyny iberiň")
    chat.expect(part(app, "tk", "Shall I make the invoice for advance payment for {account} of {amount}?"), "50")
    await chat.say("bolýar")
    chat.expect(part(app, "tk", "Here is the invoice for advance payment for {account}: {amount}."), "50")


async def test_a_forged_invoice_amount_is_refused(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381665678901")
    for forged in ("ainvy:1:NaN", "ainvy:1:99999999", "ainvy:1:-5"):
        await chat.press_payload(forged)
        chat.expect("To dugme pripada ranijem razgovoru")


async def test_an_action_named_before_identification_continues_after_it(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381665678901", entry=())
    await chat.press_payload("logout")
    await chat.say("ugasite mi gprs")
    await chat.press_payload("idm:phone")
    await chat.share_phone("+381665678901", own=True)
    chat.expect(part(app, "sr", "Turn off {service} on {line}?"), "GPRS")


async def test_two_close_candidates_are_asked_about(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.say("plaćanje računa")  # what makes up the amount, or my account: both fit
    chat.expect("Da li ste mislili:")
    assert len(chat.labels) == 3, chat.labels  # two candidates and the way back
    await chat.press(chat.labels[0])
    chat.expect_not("Da li ste mislili:")
    async with app.deps.sessionmaker() as db:
        rows = (await db.execute(select(UnderstandingEvent))).scalars().all()
    assert [(r.outcome, r.text_masked) for r in rows] == [("clarified", "plaćanje računa")]


async def test_a_second_miss_offers_the_operator_or_the_contact_centre(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.say("qwxz plmk")
    chat.expect("Nisam razumela.")
    chat.expect_not("Operater može")
    await chat.say("zzgh vvbn")
    chat.expect("Nisam razumela.", "Operater takođe može da vam pomogne oko ovoga.")
    chat.expect_buttons("Razgovor sa operaterom")
    await chat.say("qwxz plmk")  # the third: the offer stays
    chat.expect("Operater takođe")
    await chat.say("meni")
    await chat.say("qwxz plmk")  # understood in between: the count starts again
    chat.expect_not("Operater takođe")


async def test_a_second_miss_without_the_handoff_gives_the_contact_centre(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    app.engine.deps.profile.menu.remove("operator")
    try:
        await chat.say("qwxz plmk")
        await chat.say("zzgh vvbn")
        chat.expect(part(app, "tk", "Our contact centre can also help you with this:"), "0890")
        chat.expect_not(part(app, "tk", "An operator can also help you with this."))
    finally:
        app.engine.deps.profile.menu.insert(4, "operator")


YES_NO = {
    "Srpski": (
        [("ukljuci razbijac", "može"), ("ukljuci konferencijsku vezu", "važi"), ("ukljuci antiaon", "naravno"),
         ("ukljuci sms paket", "hajde")],
        ["ne hvala", "nema potrebe"],
    ),
    "Türkmençe": ([("razbijac birikdir", "bolýar"), ("sms bukjany birikdir", "elbetde")], ["ýok, gerek däl"]),
}  # fmt: skip


@pytest.mark.parametrize("language", list(YES_NO))
async def test_yes_and_no_words_answer_a_question(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", language)  # these services are off
    lang = SCRIPTS[language]
    asks, noes = YES_NO[language]
    for word in noes:
        await chat.say(asks[0][0])
        chat.expect(part(app, lang, "Turn on {service} on {line}?"))
        await chat.say(word)
        chat.expect(part(app, lang, "Services on {line}:"))
    for sentence, word in asks:
        await chat.say(sentence)
        chat.expect(part(app, lang, "Turn on {service} on {line}?"))
        await chat.say(word)
        chat.expect(part(app, lang, "Done: the order to turn on {service} on {line} has been placed. Order number: "
                                    "{number}."))  # fmt: skip


async def test_a_turkmen_sentence_in_a_serbian_chat_is_understood_and_a_switch_offered(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.say("PUK kodumy nädip bilip bilerin")
    chat.expect("PUK kodom", "Türkmen dilinde dowam edelimi?")
    await chat.press("Hawa, türkmen diline geç")
    chat.expect("Türkmen")
    await chat.say("ugasite mi gprs molim vas")
    chat.expect("Da li da nastavimo na srpskom?")


async def test_states_that_read_the_users_words_are_not_reinterpreted(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=("complaints", "cnew", "ccat:mobile"))
    await chat.say("ugasite mi gprs")  # the description of the complaint, not the services
    chat.expect("Ako imate fotografiju ili fajl")
    chat = await rs_identified(app, "+381665678901", entry=("account", "ainv"))  # her only line: not chosen
    await chat.say("hoću da suspendujem broj na dve nedelje")  # not an amount, not a suspension
    chat.expect("nisam pronašla iznos")
    await chat.say("meni")  # today's exact global keyword still works
    chat.expect("Kako mogu")


async def test_a_code_word_and_a_one_time_code_are_not_reinterpreted(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe")
    await chat.press_payload("account")
    await chat.press_payload("idm:word")
    await chat.say("+993 65 123456")
    await chat.say("sms bukjany öçürmek isleýärin")  # a (wrong) code word, not the services
    chat.expect(part(app, "tk", "The number and the details you gave don't match our records."))
    chat.expect_not(part(app, "tk", "Turn off {service} on {line}?"))
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski")
    await chat.press_payload("account")
    await chat.press_payload("idm:code")
    await chat.say("2345678")
    await chat.say("ugasite mi gprs")  # the answer to the one-time code's question, not the services
    chat.expect("Upišite samo cifre.")  # "The code from the SMS has 6 digits. Type just the digits."
    chat.expect_not(part(app, "sr", "Turn off {service} on {line}?"))


async def test_what_was_not_understood_is_kept_masked(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.say("Marko xqzv 0641234567 plkj")
    async with app.deps.sessionmaker() as db:
        rows = (await db.execute(select(UnderstandingEvent))).scalars().all()
    assert [r.outcome for r in rows] == ["not_understood"]
    assert "0641234567" not in rows[0].text_masked and "Marko" in rows[0].text_masked  # first word: not a name
    await chat.say("xqzv Marka na 0641234567 plkj")
    async with app.deps.sessionmaker() as db:
        masked = [r.text_masked for r in (await db.execute(select(UnderstandingEvent))).scalars()]
    assert masked[1] == "xqzv «name» na # plkj"
    await chat.say("/forget")
    await chat.press("Da, obriši")
    async with app.deps.sessionmaker() as db:
        assert (await db.execute(select(UnderstandingEvent))).scalars().all() == []


@pytest.mark.parametrize("language", ["Srpski", "Српски"])
async def test_a_number_in_the_sentence_answers_identification(make_app: AppFactory, language: str) -> None:
    app = await seeded(make_app, "rs")
    script = SCRIPTS[language]
    chat = await new_chat(app, language)
    await chat.say(typed_in(script, "moj broj je 064 1234567, hocu da vidim stanje na racunu"))
    phone, text = await sms_sent(app)
    assert phone == "+381641234567"  # neither the method nor the number was asked: the sentence gave them
    chat.expect_not(part(app, script, "How would you like to identify yourself?"))
    await chat.say(code_in(text))
    chat.expect(typed_in(script, "Identifikovani ste kao Petar."), "1234567/1")


async def test_a_customer_code_in_the_sentence_answers_identification(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski")
    await chat.say("sifra korisnika mi je 1234567, koliko dugujem ovog meseca")
    phone, text = await sms_sent(app)  # to the number on file, never to one the sentence could name
    assert phone == "+381641234567"
    await chat.say(code_in(text))
    chat.expect("Identifikovani ste kao Petar.", "1234567/1")


async def test_a_number_in_a_turkmen_sentence_leaves_only_the_code_word(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe")
    await chat.say("meniň belgim +993 65 123456, hasabymda näçe pul galdy")
    chat.expect_not(part(app, "tk", "How would you like to identify yourself?"))  # the number is known
    await chat.say("Gülälek")
    chat.expect("Sag boluň")  # identified: the accounts follow
