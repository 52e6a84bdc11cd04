"""A photo attached to a request in Telegram reaches the department's e-mail as a file, fetched from the Bot API."""

from __future__ import annotations

from bot.core.incoming import Attachment, Incoming, Kind, UserRef
from bot.services.attachments import AttachmentFetcher, TelegramFiles, UrlFiles, fetch_attachment, safe_file_name
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import seeded
from tests.smtp import SmtpServer, mail_worker

PHOTO = b"\xff\xd8\xff\xe0" + b"speedtest" * 100


async def test_tm_a_request_with_a_telegram_photo_is_mailed_with_the_photo(
    make_app: AppFactory, smtp: SmtpServer, fake_telegram: FakeTelegram
) -> None:
    app = await seeded(make_app, "tm")
    aina = fake_telegram.user(7001, "Aýna", "tk")
    photo_id = fake_telegram.send_photo(aina, data=PHOTO)
    chat = Chat(app.engine, UserRef("telegram", "7001"))
    await chat.first_contact("Türkmençe")
    await chat.press("Arzlar we sorag-teklipler")
    await chat.press("Täze arz ýa-da sorag-teklip")
    await chat.press("Telefon belgisi we kod sözi")
    await chat.say("+993 65 123456")
    await chat.say("Gülälek")
    await chat.press("Şäher telefony")
    await chat.say("Öýdäki internet agşamlar haýal işleýär, suraty goşýaryn.")
    await chat.send_photo("speedtest.jpg", file_ref=photo_id)
    chat.expect("Sag boluň. Sorag-teklibiňiz R-", "Goşundy sorag-teklibe goşuldy.")

    fetchers: dict[str, AttachmentFetcher] = {"telegram": TelegramFiles(fake_telegram.base_url, fake_telegram.token)}
    assert [a.delivered for a in await mail_worker(app, smtp.url, fetchers).run_once()] == [True]
    [mail] = smtp.received
    [attached] = list(mail.message.iter_attachments())
    assert attached.get_filename() == "speedtest.jpg" and attached.get_content_type() == "image/jpeg"
    assert attached.get_payload(decode=True) == PHOTO
    assert fake_telegram.token not in mail.text  # the download URL holds the token: it never leaves the fetcher


async def test_what_cannot_be_fetched_is_left_as_the_reference(fake_telegram: FakeTelegram) -> None:
    fetchers: dict[str, AttachmentFetcher] = {
        "telegram": TelegramFiles(fake_telegram.base_url, fake_telegram.token),
        "viber": UrlFiles(),
    }
    assert await fetch_attachment(fetchers, "telegram", "no-such-file", "x.jpg") is None
    assert await fetch_attachment(fetchers, "viber", "not a url", None) is None
    assert await fetch_attachment(fetchers, "console", "console:photo.jpg", "photo.jpg") is None


async def test_rs_a_file_named_with_a_line_break_is_mailed_and_the_requests_after_it_too(
    make_app: AppFactory, smtp: SmtpServer, fake_telegram: FakeTelegram
) -> None:
    """A document's name is the sender's to choose: `invoice\n.pdf` once stopped every complaint e-mail."""
    app = await seeded(make_app, "rs")
    petar = fake_telegram.user(7002, "Petar")
    document = fake_telegram.send_document(petar, "invoice\n.pdf")
    chat = Chat(app.engine, UserRef("telegram", "7002"))
    await chat.first_contact("Srpski")
    await chat.press_payload("complaints")
    await chat.press_payload("cnew")
    await chat.press_payload("idm:phone")
    await chat.share_phone("+381641234567", own=True)
    await chat.press("Fiksna mreža")
    await chat.say("Račun za mart nije tačan, šaljem ga.")
    attachment = Attachment("file", document, "invoice\n.pdf")
    await chat.send(Incoming(chat.user, Kind.ATTACHMENT, attachment=attachment))
    chat.expect("Hvala. Vaš zahtev je zaveden pod brojem R-", "Prilog je dodat zahtevu.")
    await chat.press_payload("complaints")
    await chat.press_payload("cnew")
    await chat.press("Usluge mobilne mreže")
    await chat.say("Nemam signal u stanu.")
    await chat.press("Pošaljite bez priloga")
    chat.expect("Hvala. Vaš zahtev je zaveden pod brojem R-")

    fetchers: dict[str, AttachmentFetcher] = {"telegram": TelegramFiles(fake_telegram.base_url, fake_telegram.token)}
    assert [a.delivered for a in await mail_worker(app, smtp.url, fetchers).run_once()] == [True, True]
    first, second = smtp.received
    [attached] = list(first.message.iter_attachments())
    assert attached.get_filename() == "invoice.pdf" and attached.get_content_type() == "application/pdf"
    assert attached.get_payload(decode=True) == fake_telegram.file_content(document)
    assert second.recipients == ["mtsinfo@telekom.rs"]


def test_a_file_name_is_made_safe_for_a_header_and_a_disk() -> None:
    assert safe_file_name("invoice\n.pdf") == "invoice.pdf"
    assert safe_file_name("a\r\n\r\nBcc: someone@example.com") == "a Bcc: someone@example.com"
    assert safe_file_name("\u202egpj.exe") == "gpj.exe"  # a right-to-left override hides the real extension
    assert safe_file_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_file_name("račun za mart.pdf") == "račun za mart.pdf"
    long = safe_file_name("x" * 300 + ".pdf")
    assert len(long) == 100 and long.endswith("x.pdf")
    assert safe_file_name("") == safe_file_name(None) == safe_file_name("\n\t") == "attachment"
