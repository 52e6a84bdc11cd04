"""The native review's wording, screen by screen: each conversation walks to the screens whose words were reviewed
and reads them as a subscriber would, in the profile(s) and language(s) they concern."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import (
    identify_by_code_word,
    identify_by_customer_code,
    new_chat,
    rs_identified,
    seeded,
    sms_sent,
    tm_identified,
)

SR_CODE = "Šifrom korisnika"
TK_CODE = "Müşderi kody bilen"
TM_WORD = "Telefon belgisi we kod sözi"


def sr_date_in(app: App, days: int) -> str:
    local = datetime.now(UTC).astimezone(app.deps.profile.zone).date() + timedelta(days=days)
    return app.deps.i18n.get("sr").date(local, app.deps.profile.zone)


# --- Serbian ----------------------------------------------------------------------------------------------------------
async def test_sr_a_suspension_names_the_line_and_its_date_has_one_full_stop(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Privremeno isključenje ili uključenje")
    await chat.press("2345678/1")
    chat.expect("Na koliko dugo da privremeno isključim broj 2345678/1? Posle toga će se sam ponovo uključiti.")
    await chat.press("na 7 dana")
    date = sr_date_in(app, 7)
    assert date.endswith(" 2026.") or date.endswith(" 2027."), date  # "8. decembra 2026.": the year's full stop
    chat.expect(f"Neće raditi do {date}, kada će se sam ponovo uključiti.")
    await chat.press("Da, isključite")
    chat.expect(f"Izdala sam nalog za privremeno isključenje broja 2345678/1. Ponovo će se uključiti {date}\n")
    chat.expect_not("..")


async def test_sr_resumption_names_the_line(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381646789012")
    await chat.press("Privremeno isključenje ili uključenje")
    await chat.press("6789012/1")
    chat.expect("Izdala sam nalog da se broj 6789012/1 ponovo uključi.")


async def test_sr_the_tariff_the_bills_and_the_invoice_for_advance_payment(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 62 556677", "Köpetdag", "Srpski")
    chat.expect("Tarifni paket: ")
    chat.expect_not("Tarifa:", "tarifni plan")
    await chat.press("Od čega se sastoji iznos")
    chat.expect(
        "(fiksna telefonija, tarifni paket ",
        "Dug po svakom računu čine neplaćene fakture od poslednje uplate: mesečna pretplata tarifnog paketa, usluge "
        "koje koristite i pozivi ili prenos podataka van paketa.",
    )
    await chat.press_payload("account")
    await chat.press("📄 Predračun za avansnu uplatu")
    chat.expect("Za koji račun želite predračun za avansnu uplatu?")  # račun the account, predračun the document
    chat.expect_not("avansno plaćanje")


async def test_sr_the_reconnection_screen_and_the_debt_over_the_limit(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Uključenje na reč")
    await identify_by_customer_code(chat, app, "1234567", method_label=SR_CODE)
    chat.expect("Izaberite račun sa statusom „isključena“:")
    chat.expect_not("Odaberi račun")  # the seed's button of its web chat, which this chat has not
    assert not any("Odaberi" in label for label in chat.labels)


async def test_sr_buttons_speak_formally(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Usluge: uključenje i isključenje")
    await identify_by_customer_code(chat, app, "2345678", method_label=SR_CODE)
    await chat.press("SMS")
    chat.expect_buttons("Da, isključite")
    await chat.press_payload("apin")
    chat.expect_buttons("🔑 Prikažite PUK kod moje linije")
    await chat.say("obriši moje podatke")
    chat.expect_buttons("Da, obrišite moje podatke", "Ne, zadržite ih")
    chat = await new_chat(app, "Srpski", "Uključenje na reč")
    await chat.press(SR_CODE)
    await chat.say("1234567")
    await chat.say("000000")
    chat.expect_buttons("Pošaljite novi kod", "✖ Odustanite")


async def test_sr_the_number_to_call_follows_one_sentence(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Uključenje na reč")
    await chat.press_payload("idm:phone")
    await chat.share_phone("+381652345678", own=True)
    chat.expect_not("naš kontakt centar", "kontakt centar:")
    chat = await new_chat(app, "Srpski")
    await chat.say("kodna reč")
    chat.expect("Da biste potvrdili ko ste, možete nas pozvati:\nKontakt centar: 0800 100 100. Poziv je besplatan.")


async def test_sr_the_operators_service_names_and_short_buttons(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Usluge: uključenje i isključenje")
    await identify_by_customer_code(chat, app, "2345678", method_label=SR_CODE)
    chat.expect("GPRS (mobilni prenos podataka) — ")  # the full name in the text
    chat.expect_buttons("✅ GPRS")
    assert "✅ GPRS (mobilni prenos podataka)" not in chat.labels  # the short one on the button
    chat = await new_chat(app, "Srpski", "Usluge: uključenje i isključenje")
    await identify_by_customer_code(chat, app, "1234567", method_label=SR_CODE)
    await chat.press("1234567/1")
    chat.expect("⚪ Roming — isključena")
    await chat.press_payload("services")
    await chat.press("1234567/2")
    chat.expect("⚪ Zabrana prikaza broja — isključena")
    chat.expect_not("Međunarodni pristup", "zabrana prikaza broja)")
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Usluge")
    await identify_by_code_word(chat, "+993 65 123456", "Gülälek", method_label="Broj telefona i kodna reč")
    chat.expect("Zabrana prikaza broja (AntiAON) — ")
    chat.expect_buttons("Zabrana prikaza broja")


async def test_sr_cyrillic_labels_in_cyrillic_and_a_reference_in_latin(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Српски")
    await chat.press_payload("contacts")
    chat.expect("Е-пошта: mtsinfo@telekom.rs")
    chat.expect_not("E-mail", "E-pošta")
    chat = await rs_identified(app, "+381641234567", "Српски", entry=("cstatus",))
    chat.expect("Упишите број свог захтева (на пример R-12345678).")
    await chat.say("nešto")
    chat.expect("Број захтева изгледа овако: R-12345678.")
    chat = await rs_identified(app, "+381641234567", "Српски")
    chat.expect("Тарифни пакет: Postpaid S")


async def test_sr_the_code_is_for_the_chat_with_mila(make_app: AppFactory) -> None:
    """ "čet sa Milom": the name after "with" declined in Serbian, as it is in Turkmen ("Mila bilen")."""
    app = await seeded(make_app, "rs")
    for language, code, sms in (
        ("Srpski", "2345678", " je vaš kod za čet sa Milom. Ne dajte ga nikome."),
        ("Српски", "1234567", " је ваш код за чет са Милом. Не дајте га никоме."),
        ("Türkmençe", "5678901", " — Mila bilen çat üçin kodyňyz. Ony hiç kime aýtmaň."),
    ):
        chat = await new_chat(app, language)
        await chat.press_payload("reconnect")
        await chat.press_payload("idm:code")
        await chat.say(code)
        assert (await sms_sent(app))[1].endswith(sms)


# --- Turkmen ----------------------------------------------------------------------------------------------------------
async def test_tk_the_menu_the_thanks_and_the_options(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe")
    chat.expect("Size nähili kömek edip bilerin? Düwmelerden birini saýlaň ýa-da belgisini ýazyň.")
    await chat.say("sag boluň")
    chat.expect("Hiç zat däl! Size başga-da bir kömek gerekmi?")
    await chat.say("qwzx")
    chat.expect("Düwmelerden birini saýlaň")
    chat.expect_not("görnüş", "Görnüş")


async def test_tk_the_help_desk_has_one_name_and_asks_for_identification_plainly(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Hyzmatlary birikdirmek we öçürmek")
    chat.expect(
        "Identifikasiýadan nähili geçmek isleýärsiňiz?\nHyzmatlardan peýdalanmak üçin Siz belgiňizi, F.A.Aa. we "
        "eýesiniň pasporty barada maglumatlary ýa-da kodly sözi (paroly) aýtmaly."
    )
    chat.expect_not("Ýokarda", "tanad")
    await chat.say("/help")
    chat.expect(  # "above" is true where the list is
        "• Şeýle hem: PIN we PUK bloklaryny açmak, şahsy hasap barada maglumat we beýlekiler\nÝokarda görkezilen "
        "hyzmatlardan peýdalanmak üçin Siz belgiňizi,"
    )
    await chat.press_payload("consultations")
    await chat.press("Şahsy hasaplary birleşdirmek/bölmek")
    chat.expect("şahsyýetnamasy bilen MTS-iň satuw ofisine ýüz tutmaly. ", "Sorag-jogap gullugyna 0890 belgä")
    chat.expect_not("ontakt merkez", "abarlaşmak merkez")
    chat.expect_buttons("⬅ Esasy menýu")


async def test_tk_short_labels_for_the_long_service_names(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Hyzmatlary birikdirmek we öçürmek")
    await identify_by_code_word(chat, "+993 65 123456", "Gülälek", method_label=TM_WORD)
    chat.expect("Belgini awtomatiki anyklaýjynyň garşysyna goýulýan enjam (AntiAON) — ")  # the document's name
    chat.expect_buttons("AntiAON", "AntiAON döwüji")
    assert all(len(label) <= 32 for label in chat.labels), chat.labels
    await chat.press("Täzeçe salgylamak")
    chat.expect("8100001/1 belgisine gelýän jaňlar haýsy belgä geçirilsin?")


async def test_tk_suspension_and_unblocking_are_orders_for_the_line(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")
    await chat.press("14 günlük")
    chat.expect("8100001/1 belgini 14 günlük wagtlaýyn togtatmak üçin sargyt bereýinmi?")
    await chat.say("hawa")
    chat.expect("8100001/1 belgini wagtlaýyn togtatmak üçin sargyt berdim. Ol ")
    chat.expect_not("sargydyny")


async def test_tk_the_one_time_code_and_identification(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Söz berip birikdirmek")
    await chat.press(TK_CODE)
    await chat.say("2345678")
    chat.expect("belgä SMS arkaly bir gezeklik kod iberdim.")
    chat.expect_not("birwagtlaýyn")


async def test_tk_reconnection_words_in_the_rs_profile(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Söz berip birikdirmek")
    await identify_by_customer_code(chat, app, "2345678", method_label=TK_CODE)
    chat.expect("öçürilmändir")
    chat.expect_not("öçürilmedik")
    await chat.press_payload("rcphone")
    chat.expect(
        "2. 1-i basyň – Bar bolan müşderilere goldaw üçin",
        "7. Bergiň möçberi we töleg usuly barada maglumatdan soň 2-ni basyň - söz berip birikdirmek",
        "Şäher telefony hyzmatlaryny birikdirmek\n1. Birikdirmek isleýän şäher telefonyňyzdan Kontakt merkezine",
    )
    chat.expect_not("görnüşi", "kesgitli")
    await chat.press_payload("apin")
    chat.expect("mts satuw ofisinde çalyşmaly")
    chat.expect_not("mts bölüminde")
    await chat.press_payload("contacts")
    chat.expect("şäher telefon ulgamynyň, mts TV-niň")


async def test_tk_a_fixed_line_is_a_city_telephone(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Söz berip birikdirmek")
    await identify_by_customer_code(chat, app, "1234567", method_label=TK_CODE)
    chat.expect("„Öçürilen“ ýagdaýyndaky hasaby saýlaň:", "1234567/2 · şäher telefony")
    chat.expect_not("Hasaby saýla", "kesgitli")


async def test_tk_siz_is_capitalised(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat: Chat = await new_chat(app, "Türkmençe")
    await chat.say("/help")
    await chat.say("qwzx")
    chat.expect_not(" size ", " siziň ", " sizi ")
