"""Complaints and written requests: identification first, category, description, an optional photo, a reference;
stored and e-mailed to the department's address through the mail outbox, to a real SMTP server on localhost."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.cli import main
from bot.config import MailSettings
from bot.core.incoming import UserRef
from bot.db.models import MailMessage, Subscriber, Ticket
from bot.services.backend import SubscriberInfo
from bot.services.mail import MailWorker
from bot.services.tickets import file_ticket
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import new_chat, rs_identified, seeded, tm_identified
from tests.smtp import SmtpServer, mail_worker


def reference_in(text: str) -> str:
    match = re.search(r"R-\d{8}", text)
    assert match, text
    return match.group(0)


NEW_REQUEST = ("complaints", "cnew")


async def in_complaints(app: App, language: str = "Srpski") -> Chat:
    """A new chat, not identified yet, standing in the complaints entry."""
    chat = await new_chat(app, language)
    await chat.press_payload("complaints")
    return chat


async def filed_without_attachment(chat: Chat, category: str, description: str) -> str:
    """Pick the category, describe the request, send it without an attachment: the reference it was filed under."""
    await chat.press(category)
    await chat.say(description)
    await chat.press("📨")
    return reference_in(chat.text)


# --- rs ------------------------------------------------------------------------------------------------------------
async def test_rs_a_complaint_about_the_mobile_network_is_mailed_to_mtsinfo(
    make_app: AppFactory, smtp: SmtpServer
) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Prigovori i zahtevi")
    chat.expect("Anonimni zahtevi se ne obrađuju")
    await chat.press("Novi prigovor ili zahtev")
    chat.expect("Da bismo nastavili, treba da znam ko ste.")  # anonymous requests are not processed
    await chat.press("Brojem telefona")
    await chat.share_phone("+381641234567", own=True)
    chat.expect("Hvala! Identifikovani ste kao Petar.", "Na šta se odnosi vaš prigovor ili zahtev?")
    chat.expect_buttons("Usluge mobilne mreže", "Fiksna mreža, mts TV, internet i paketi usluga")
    await chat.press("Usluge mobilne mreže")
    chat.expect("Opišite svoj prigovor ili zahtev u jednoj poruci, sa najviše 1.000 znakova.")
    await chat.say("Od juče nemam signal u stanu, Bulevar 12. Pozivi se prekidaju.")
    chat.expect("Ako imate fotografiju ili fajl koji pokazuje problem")
    await chat.press("Pošaljite bez priloga")
    chat.expect("Hvala. Vaš zahtev je zaveden pod brojem R-")
    chat.expect("mtsinfo@telekom.rs", "Odgovor možete očekivati u roku od 15 dana.")  # where it went, and when
    reference = reference_in(chat.text)

    # pressing "send" again does not file a second request
    await chat.press_payload("csend")
    chat.expect("To dugme pripada ranijem razgovoru")
    async with app.deps.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(Ticket)) == 1

    attempts = await mail_worker(app, smtp.url).run_once()
    assert [a.delivered for a in attempts] == [True]
    [mail] = smtp.received
    assert mail.recipients == ["mtsinfo@telekom.rs"]
    assert mail.subject == f"Prigovor/zahtev {reference}: Usluge mobilne mreže"
    assert "Šifra korisnika: 1234567" in mail.text
    assert "Ime i prezime: Petar Petrović" in mail.text
    assert "Od juče nemam signal u stanu, Bulevar 12. Pozivi se prekidaju." in mail.text
    assert "Prilog: nema" in mail.text
    assert "Broj za povratni poziv: +381641234567" in mail.text

    await chat.press_payload("menu")
    await chat.press("Prigovori i zahtevi")
    await chat.press("Status mog zahteva")
    chat.expect("Upišite broj svog zahteva (na primer R-12345678).")
    await chat.say(reference.lower().replace("-", " "))  # typed however
    chat.expect(f"Zahtev {reference}", "Kategorija: Usluge mobilne mreže", "Status: prosleđen službi")


async def test_rs_an_over_long_description_is_refused_with_the_numbers(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", entry=NEW_REQUEST)
    await chat.press("Fiksna mreža")
    await chat.say("Internet ne radi. " * 80)  # 1,440 characters
    chat.expect("Vaš opis ima 1.439 znakova, a zahtev može da ima najviše 1.000. Skratite ga i pošaljite ponovo.")
    await chat.say("Internet ne radi od ponedeljka.")
    chat.expect("Ako imate fotografiju ili fajl")


async def test_rs_cyrillic_other_channels_exactly_as_the_operator_lists_them(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await in_complaints(app, "Српски")
    await chat.press("Други начини")
    chat.expect(
        "Пословнице: Приговор/рекламацију можете да поднесете у mts пословници",
        "Булевар Уметности 16, 11000 Београд",
        "mtsinfo@telekom.rs",
        "info@telekom.rs",
        "0800 100 100",
    )


async def test_rs_status_is_only_for_the_subscriber_who_filed(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    petar = await rs_identified(app, "+381641234567", entry=NEW_REQUEST)
    reference = await filed_without_attachment(petar, "Usluge mobilne mreže", "Račun za oktobar je previsok.")

    jelena = await in_complaints(app)
    await jelena.press("Status mog zahteva")
    await jelena.press("Brojem telefona")
    await jelena.share_phone("+381652345678", own=True)
    jelena.expect("Upišite broj svog zahteva")
    await jelena.say(reference)
    jelena.expect(f"Među vašim zahtevima nema nijednog sa brojem {reference}.")
    await jelena.press_payload(f"cref:{reference}")  # a forged button: no more said than to a typed reference
    jelena.expect(f"Među vašim zahtevima nema nijednog sa brojem {reference}.")
    await jelena.press_payload("cstatus")
    await jelena.say("nije broj")
    jelena.expect("To nije broj zahteva. Broj zahteva izgleda ovako: R-12345678.")


# --- tm ------------------------------------------------------------------------------------------------------------
async def test_tm_a_request_with_a_photo_goes_to_0890(make_app: AppFactory, smtp: SmtpServer) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Arzlar we sorag-teklipler")
    chat.expect("Atsyz sorag-teklipler işlenilmeýär")
    await chat.press("Täze arz ýa-da sorag-teklip")
    await chat.press("Telefon belgisi we kod sözi")
    await chat.say("+993 65 123456")
    await chat.say("Gülälek")
    chat.expect("Sag boluň, Aýna!", "Arzyňyz ýa-da sorag-teklibiňiz näme barada?")
    await chat.press("Şäher telefony")
    await chat.say("Öýdäki internet agşamlar haýal işleýär, suraty goşýaryn.")
    chat.expect("Meseläni görkezýän suratyňyz ýa-da faýlyňyz")
    await chat.say("salam")  # words are not a picture
    chat.expect("Surat ýa-da faýl iberiň")
    await chat.send_photo("speedtest.jpg")
    chat.expect("Sag boluň. Sorag-teklibiňiz R-", "Goşundy sorag-teklibe goşuldy.")
    chat.expect("0890@mts.tm", "Jogaba 15 günüň dowamynda garaşyp bilersiňiz.")
    reference = reference_in(chat.text)

    assert [a.delivered for a in await mail_worker(app, smtp.url).run_once()] == [True]
    [mail] = smtp.received
    assert mail.recipients == ["0890@mts.tm"]
    assert mail.subject == f"Arz/sorag-teklip {reference}: Şäher telefony, telewideniýe, internet we bukjalar"
    assert "F.A.Aa.: Aýna Öwezowa" in mail.text
    assert "Goşundy: surat „speedtest.jpg“" in mail.text  # the kind in the operator's language
    assert "Yzyna jaň etmek üçin belgi: +99365123456" in mail.text
    assert "Öýdäki internet agşamlar haýal işleýär" in mail.text

    await chat.press("Sorag-teklibimiň ýagdaýy")
    chat.expect(f"Sorag-teklip {reference}", "Ýagdaýy: bölüme ugradyldy")


async def test_other_ways_name_the_contact_centre_once(make_app: AppFactory) -> None:
    chat = await new_chat(await seeded(make_app, "rs"), "Srpski", "Prigovori i zahtevi", "Drugi načini")
    chat.expect("Kontakt centar: Pozivanjem broja 0800 100 100")
    assert chat.text.count("Kontakt centar") == 1, chat.text
    # where the operator's list has no phone, the contact centre is added to it
    chat = await new_chat(await seeded(make_app, "tm"), "Türkmençe", "Arzlar", "beýleki ýollary")
    chat.expect("0890@mts.tm elektron salgymyza", "Sorag-jogap gullugy, MTS mobil telefonyndan: 0890.")


async def test_tm_in_serbian_the_operators_rules_for_written_requests(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Prigovori i zahtevi", "Drugi načini")
    chat.expect(
        "1. Svoje pitanje ili predlog šaljete na našu e-mail adresu 0890@mts.tm;",
        "Anonimna pitanja i predlozi se ne obrađuju.",
    )


# --- delivery ------------------------------------------------------------------------------------------------------
async def test_smtp_down_then_back_the_mail_arrives_once(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=NEW_REQUEST)
    reference = await filed_without_attachment(chat, "Fiksna mreža", "TV slika se zamrzava.")

    server = SmtpServer()  # its port is chosen, nothing listens yet: the mail server is down
    worker = mail_worker(app, server.url)
    tried = await worker.run_once()
    assert tried and not any(a.delivered for a in tried) and all(a.error for a in tried)
    await chat.press("Status mog zahteva")
    chat.expect("Status: zaveden; prosleđuje se službi")

    await server.start()
    try:
        for _ in range(500):  # the next attempt is due after a short backoff
            if any(a.delivered for a in await worker.run_once()):
                break
            await asyncio.sleep(0.02)
        for _ in range(3):  # and nothing is sent again
            assert await worker.run_once() == []
            await asyncio.sleep(0.02)
    finally:
        await server.stop()
    assert len(server.received) == 1
    assert server.received[0].recipients == ["info@telekom.rs"]
    assert reference in server.received[0].subject
    async with app.deps.sessionmaker() as db:
        row = (await db.execute(select(MailMessage))).scalar_one()
        assert row.attempts >= 2 and row.delivered_at is not None
    await chat.press_payload(f"cref:{reference}")
    chat.expect("Status: prosleđen službi", "Prosleđeno:")


async def test_an_e_mail_that_cannot_be_composed_is_failed_with_the_reason_and_holds_up_nothing(
    make_app: AppFactory, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=NEW_REQUEST)
    broken = await filed_without_attachment(chat, "Fiksna mreža", "TV slika se zamrzava.")
    await chat.press_payload("complaints")
    await chat.press_payload("cnew")
    fine = await filed_without_attachment(chat, "Usluge mobilne", "Nemam signal.")
    async with app.deps.sessionmaker() as db, db.begin():
        first = (await db.execute(select(MailMessage).order_by(MailMessage.id))).scalars().first()
        assert first is not None
        first.recipient = "info@telekom.rs\r\nBcc: someone@example.com"  # what a header must never carry

    attempts = await mail_worker(app, smtp.url).run_once()
    assert [(a.delivered, a.error) for a in attempts] == [
        (False, "cannot be composed: ValueError: Header values may not contain linefeed or carriage return characters"),
        (True, None),
    ]
    assert [fine in m.subject for m in smtp.received] == [True]
    assert await mail_worker(app, smtp.url).run_once() == []  # failed for good: never tried again
    async with app.deps.sessionmaker() as db:
        row = await db.get(MailMessage, first.id)
        assert row is not None and row.failed_at is not None and row.attempts == 1

    monkeypatch.setenv("DATABASE_URL", app.settings.database.url)
    assert await asyncio.to_thread(main, ["outbox", "list"]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert listed[0][:4] == ["outbox", "id", "for", "status"]
    assert listed[1][:5] == ["mail", str(first.id), broken, "failed", "1"]
    assert " ".join(listed[1]).endswith("- cannot be composed: ValueError: Header values may not contain linefeed or "
                                        "carriage return characters")  # fmt: skip
    assert listed[2] == ["(1", "messages,", "times", "in", "UTC)"]  # the delivered one is not listed
    assert await asyncio.to_thread(main, ["outbox", "list", "--all"]) == 0
    assert fine in capsys.readouterr().out


async def test_a_complaint_whose_e_mail_keeps_failing_is_said_honestly(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=NEW_REQUEST)
    first = await filed_without_attachment(chat, "Fiksna mreža", "TV slika se zamrzava.")
    chat.expect_not("kasni")
    server = SmtpServer()  # nothing listens on its port: the mail server is down
    settings = MailSettings(SMTP_URL=server.url, SMTP_BACKOFF=0.02, SMTP_MAX_BACKOFF=0.05, SMTP_MAX_ATTEMPTS=5)
    worker = MailWorker(app.deps.sessionmaker, settings)

    async def attempts() -> int:
        async with app.deps.sessionmaker() as db:
            return int(await db.scalar(select(func.max(MailMessage.attempts))) or 0)

    while await attempts() < 3:
        await worker.run_once()
        await asyncio.sleep(0.03)
    await chat.press_payload(f"cref:{first}")
    chat.expect("Status: zaveden; prosleđuje se službi", "Prosleđivanje zahteva službi kasni zbog tehničkog problema: "
                "vaš zahtev je sačuvan i biće prosleđen, a njegov broj i dalje važi.", "0800 100 100")  # fmt: skip
    await chat.press_payload("complaints")
    await chat.press_payload("cnew")
    second = await filed_without_attachment(chat, "Usluge mobilne", "Nemam signal.")
    chat.expect("Prosleđivanje zahteva službi kasni zbog tehničkog problema")  # said at once to a new request

    while await attempts() < 5:  # the first one's last attempt: given up
        await worker.run_once()
        await asyncio.sleep(0.03)
    await chat.press_payload(f"cref:{first}")
    chat.expect("Status: zaveden, ali nije prosleđen službi",
                f"Nismo uspeli da ga prosledimo službi. Molimo vas da nam se obratite i navedete broj {first}:",
                "0800 100 100")  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", app.settings.database.url)
    assert await asyncio.to_thread(main, ["outbox", "list", "--failed"]) == 0
    [_, failed, _] = capsys.readouterr().out.splitlines()
    assert failed.split()[2:5] == [first, "failed", "5"] and failed.split()[-1] == "SMTPConnectError", failed

    await server.start()  # the mail server is back: the second one goes, and its status says so
    try:
        for _ in range(200):
            if any(a.delivered for a in await worker.run_once()):
                break
            await asyncio.sleep(0.03)
    finally:
        await server.stop()
    assert [second in m.subject for m in server.received] == [True]
    await chat.press_payload(f"cref:{second}")
    chat.expect("Status: prosleđen službi")
    chat.expect_not("kasni", "Nismo uspeli")


async def test_without_smtp_url_mails_wait(make_app: AppFactory) -> None:
    app = await make_app("rs")
    worker = MailWorker(app.deps.sessionmaker, MailSettings())
    assert not worker.enabled and await worker.run_once() == []


async def test_a_corporate_customer_goes_to_the_corporate_department(database_url: str, make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs", database_url=database_url)
    profile = app.deps.profile
    assert profile.complaints is not None
    async with app.deps.sessionmaker() as db:
        company_id = await db.scalar(select(Subscriber.id).where(Subscriber.customer_code == "4567890"))
        assert company_id is not None
        company = SubscriberInfo(company_id, "4567890", "Telekom Servis d.o.o.", "corporate", False, False)
        filed = await file_ticket(
            db,
            profile,
            app.deps.i18n.get("sr"),
            subscriber=company,
            accounts=[],
            category=profile.complaints.categories[0],
            description="Zahtev za novu liniju.",
            attachment=None,
            user=UserRef("test", "company"),
            language="sr",
        )
        await db.commit()
        mail = (await db.execute(select(MailMessage))).scalar_one()
    assert filed.corporate
    assert mail.recipient == "info@telekom.rs"
    assert mail.subject.startswith("Poslovni korisnik: prigovor/zahtev R-")
    assert "Korisnik je pravno lice" in mail.body


async def test_mila_outbox_run_once_sends_the_mail(
    make_app: AppFactory,
    sqlite_url: str,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command line, in a thread of its own so that the SMTP server (on this test's loop) keeps answering."""
    from bot.cli import main

    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün", entry=NEW_REQUEST)
    reference = await filed_without_attachment(chat, "Mobil aragatnaşyk", "Jaňlar kesilýär.")

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("PROVISIONING_URL", raising=False)
    monkeypatch.setenv("SMTP_URL", smtp.url)
    assert await asyncio.to_thread(main, ["outbox", "run", "--once"]) == 0
    assert "delivered 1 e-mails" in capsys.readouterr().out
    [mail] = smtp.received
    assert reference in mail.subject and "F.A.Aa.: Žemal Täçmämmedowa" in mail.text


# --- the same entries in the other profile and languages ------------------------------------------------------------
async def test_tm_an_over_long_request_is_refused_with_the_numbers(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 62 556677", "Köpetdag", entry=NEW_REQUEST)
    await chat.press("Mobil aragatnaşyk")
    chat.expect("iň köp 1 000 nyşan")
    await chat.say("Jaňlar kesilýär. " * 70)  # 1,190 characters
    chat.expect(
        "Beýanyňyzda 1 189 nyşan bar, ýöne sorag-teklipde iň köp 1 000 nyşan bolup biler.",
        "Ony gysgaldyp, täzeden iberiň.",
    )
    await chat.say("Jaňlar kesilýär.")
    chat.expect("Meseläni görkezýän suratyňyz ýa-da faýlyňyz")


async def test_rs_cyrillic_a_complaint_with_a_photo(make_app: AppFactory, smtp: SmtpServer) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", "Српски", entry=NEW_REQUEST)
    chat.expect("Хвала! Идентификовани сте као Јелена.", "На шта се односи ваш приговор или захтев?")
    await chat.press("Фиксна мрежа")
    chat.expect("Опишите свој приговор или захтев у једној поруци, са највише 1.000 знакова.")
    await chat.say("ТВ слика се замрзава увече, шаљем снимак екрана.")
    chat.expect("Ако имате фотографију или фајл који показује проблем")
    await chat.send_photo("ekran.jpg")
    chat.expect("Хвала. Ваш захтев је заведен под бројем R-", "Прилог је додат захтеву.")
    reference = reference_in(chat.text)

    assert [a.delivered for a in await mail_worker(app, smtp.url).run_once()] == [True]
    [mail] = smtp.received
    assert mail.recipients == ["info@telekom.rs"]  # fixed network, TV, internet and packages
    assert mail.subject == f"Prigovor/zahtev {reference}: Fiksna mreža, mts TV, internet i paketi usluga"
    assert "Ime i prezime: Jelena Jovanović" in mail.text and "Šifra korisnika: 2345678" in mail.text
    assert "Prilog: fotografija „ekran.jpg“" in mail.text
    assert "ТВ слика се замрзава увече" in mail.text  # the subscriber's words as written


async def test_tm_status_by_a_typed_reference(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün", entry=NEW_REQUEST)
    reference = await filed_without_attachment(chat, "Mobil aragatnaşyk", "Jaňlar kesilýär.")

    await chat.press_payload("menu")
    await chat.press("Arzlar we sorag-teklipler")
    await chat.press("Sorag-teklibimiň ýagdaýy")
    chat.expect("Sorag-teklibiňiziň belgisini ýazyň (meselem, R-12345678).")
    chat.expect_buttons(reference)  # the recent ones, to press
    await chat.say("r " + reference[2:])
    chat.expect(f"Sorag-teklip {reference}", "Kategoriýa: Mobil aragatnaşyk", "Ýagdaýy: hasaba alyndy")
    # the date and time the Turkmen way: "30 noýabr 2026 00:05", not the Serbian "30. noýabr 2026. 00:05"
    assert re.search(r"Iberilen wagty: \d{1,2} [a-zäçňöşüýž]+ \d{4} \d{2}:\d{2}$", chat.text, re.MULTILINE), chat.text
    await chat.press_payload("cstatus")
    await chat.say("R-00000000")
    chat.expect("Siziň sorag-teklipleriňiziň arasynda R-00000000 belgili sorag-teklip tapylmady.")


@pytest.mark.parametrize(
    ("profile", "language", "expected"),
    [
        pytest.param(
            "tm",
            "Türkmençe",
            ["1. Siz öz sorag-teklibiňizi 0890@mts.tm elektron salgymyza ugradýarsyňyz;", "Atsyz sorag-teklipler"],
            id="tm-tk",
        ),
        pytest.param(
            "rs",
            "Srpski",
            [
                "Prigovor/reklamaciju možete da podnesete u mts poslovnici",
                "Bulevar Umetnosti 16, 11000 Beograd",
                "mtsinfo@telekom.rs",
                "0800 100 100",
            ],
            id="rs-sr",
        ),
    ],
)
async def test_other_ways_to_reach_us(make_app: AppFactory, profile: str, language: str, expected: list[str]) -> None:
    chat = await in_complaints(await make_app(profile), language)
    await chat.press("📮")
    chat.expect(*expected)
    chat.expect_buttons("✍")  # and straight on to a new request


@pytest.mark.parametrize(
    ("profile", "language", "category", "words_first", "then_attach"),
    [
        pytest.param(
            "rs",
            "Srpski",
            "Usluge mobilne mreže",
            "Prvo opišite svoj prigovor ili zahtev rečima; fotografiju ili fajl možete da pošaljete odmah posle toga.",
            "Ako imate fotografiju ili fajl koji pokazuje problem",
            id="rs-sr",
        ),
        pytest.param(
            "tm",
            "Türkmençe",
            "Mobil aragatnaşyk",
            "Ilki bilen arzyňyzy ýa-da sorag-teklibiňizi sözler bilen beýan ediň; suraty ýa-da faýly şondan soň "
            "iberip bilersiňiz.",
            "Meseläni görkezýän suratyňyz ýa-da faýlyňyz",
            id="tm-tk",
        ),
    ],
)
async def test_a_photo_before_the_description_keeps_the_request(
    make_app: AppFactory, profile: str, language: str, category: str, words_first: str, then_attach: str
) -> None:
    app = await seeded(make_app, profile)
    if profile == "rs":
        chat = await rs_identified(app, "+381652345678", language, entry=NEW_REQUEST)
    else:
        chat = await tm_identified(app, "+993 65 123456", "Gülälek", language, entry=NEW_REQUEST)
    await chat.press(category)
    await chat.send_photo("kvar.jpg")  # the picture first, as people do
    chat.expect(words_first)
    await chat.send_sticker()
    chat.expect(words_first)
    await chat.say("Nema signala / Signal ýok.")  # the request is still being written
    chat.expect(then_attach)
    await chat.send_sticker()
    chat.expect_buttons("📨")  # still asking for the attachment
    await chat.send_photo("kvar.jpg")
    reference = reference_in(chat.text)
    async with app.deps.sessionmaker() as db:
        ticket = (await db.execute(select(Ticket).where(Ticket.reference == reference))).scalar_one()
    assert ticket.description == "Nema signala / Signal ýok."


async def test_rs_a_reference_typed_at_the_menu_shows_its_status_after_identification(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    petar = await rs_identified(app, "+381641234567", entry=NEW_REQUEST)
    reference = await filed_without_attachment(petar, "Usluge mobilne mreže", "Račun za oktobar je previsok.")

    later = await new_chat(app, "Srpski", user=UserRef("console", "petar-later"))  # a new chat, not identified
    await later.say("r " + reference[2:])
    later.expect("Kako želite da se identifikujete?")
    await later.press_payload("idm:phone")
    await later.share_phone("+381641234567", own=True)
    later.expect(f"Zahtev {reference}", "Kategorija: Usluge mobilne mreže")
    await later.say("R-00000000")  # typed at the status screen, not in the status question
    later.expect("Među vašim zahtevima nema nijednog sa brojem R-00000000.")
    await later.say("Р-" + reference[2:])  # with the Cyrillic Er
    later.expect(f"Zahtev {reference}")
