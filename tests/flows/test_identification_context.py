"""Identification keeps its context: a wrong secret asks for that answer again (the method and the number stay)
until the lockout; a step-up or "send a new code" sends the code at once to the number on file and says where; the
code-sent answer says what to do when no SMS comes, the same for a number that is nobody's; and a subscriber with
one line is never asked to choose it."""

from __future__ import annotations

import re

from bot.app import App
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import new_chat, no_sms, rs_identified, seeded, sms_code, sms_sent, tm_identified

AYNA = "+993 65 123456"
PAUSED_TK = "Şowsuz synanyşyklar gaty köp boldy"
MISMATCH_TK = "Görkezen maglumatlaryňyz bizdäki maglumatlara gabat gelmeýär."
MISMATCH_SR = "Broj i podaci koje ste naveli ne odgovaraju našoj evidenciji."
WORD_AGAIN_TK = "Kod sözüňizi täzeden ýazyň."
WORD_AGAIN_SR = "Upišite kodnu reč ponovo."
NAME_AGAIN_SR = "Upišite ponovo ime i prezime vlasnika kako piše u pasošu"
NAME_AGAIN_TK = "Eýesiniň doly adyny pasportda ýazylyşy ýaly täzeden ýazyň"
STEP_UP_SR = "Za ovo moram još jednom da proverim da ste to vi."
STEP_UP_TK = "Munuň üçin Siziňdigiňizi ýene bir gezek barlamaly."
NO_MORE_CODES_SR = "Još ne mogu da pošaljem novi kod: u kratkom roku zatraženo ih je previše."
NO_SMS_NUMBER_SR = (
    "Ako SMS ne stigne za nekoliko minuta, proverite broj koji ste upisali i zatražite novi kod. "
    "Možete nas i pozvati:\nKontakt centar: 0800 100 100. Poziv je besplatan."
)
NO_SMS_CODE_SR = (
    "Ako SMS ne stigne za nekoliko minuta, proverite šifru korisnika koju ste upisali i zatražite novi kod. "
    "Možete nas i pozvati:\nKontakt centar: 0800 100 100"
)
NO_SMS_NUMBER_TK = (
    "Eger birnäçe minudyň dowamynda SMS gelmese, ýazan belgiňizi barlaň we täze kod soraň. "
    "Bize jaň hem edip bilersiňiz:\nKontakt merkezi: 0800 100 100"
)
NO_SMS_ON_FILE_SR = "Ako SMS ne stigne za nekoliko minuta, zatražite novi kod. Možete nas i pozvati:"


async def aged(app: App, chat: Chat) -> None:
    """The chat's identification made eleven minutes older: past the step-up age."""
    chat.wait(11 * 60)


# --- a wrong secret asks for that answer only -------------------------------------------------------------------------
async def test_a_wrong_code_word_asks_for_the_code_word_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await chat.say(AYNA)
    await chat.say("Gulalik")
    chat.expect(MISMATCH_TK, WORD_AGAIN_TK)
    chat.expect_not("Identifikasiýadan nähili geçmek", "belgiňizi")  # neither the method nor the number again
    chat.expect_buttons("Başga belgi", "Ýatyr")
    await chat.say("Gülälek")
    chat.expect("Sag boluň, Aýna!", "Siziň hasaplaryňyz:")


async def test_a_wrong_code_word_in_serbian_and_another_number_after_it(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona i kodna reč")
    await chat.say(AYNA)
    await chat.say("ýyldyz")  # Serdar's word for Aýna's number
    chat.expect(MISMATCH_SR, WORD_AGAIN_SR)
    chat.expect_not("Kako želite da se identifikujete?")
    await chat.press("Drugi broj")  # it was the number that was wrong: the method stays
    chat.expect("Posle broja pitaću vas za kodnu reč.")
    await chat.say("+993 61 234567")
    await chat.say("ýyldyz")
    chat.expect("Identifikovani ste kao Serdar.")


async def test_a_wrong_passport_asks_for_the_name_and_passport_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona, ime i prezime i pasoš")
    await chat.say("+993 64 345678")
    await chat.say("Gülşat Nurmuhammedowa")
    await chat.say("I-MR 000000")
    chat.expect(MISMATCH_SR, NAME_AGAIN_SR)  # which of the two was wrong is not told
    chat.expect_not("Kako želite da se identifikujete?")
    await chat.say("Gülşat Nurmuhammedowa")
    chat.expect("Sada upišite seriju i broj pasoša")
    await chat.say("i-mr 112233")
    chat.expect("Identifikovani ste kao Gülşat.")


async def test_a_wrong_name_in_turkmen_asks_for_the_name_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi, doly ady we pasport")
    await chat.say("+993 64 345678")
    await chat.say("Gülşat Öwezowa")
    await chat.say("I-MR 112233")
    chat.expect(MISMATCH_TK, NAME_AGAIN_TK)
    await chat.say("Nurmuhammedowa Gülşat")
    await chat.say("I-MR 112233")
    chat.expect("Sag boluň, Gülşat!")


async def test_asking_again_ends_at_the_lockout(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await chat.say(AYNA)
    for _ in range(4):
        await chat.say("nädogry")
        chat.expect(MISMATCH_TK, WORD_AGAIN_TK)
    await chat.say("nädogry")  # the fifth try locks the subscriber as it is taken
    chat.expect(PAUSED_TK, "0890")
    chat.expect_not(WORD_AGAIN_TK)
    await chat.say("Gülälek")  # the flow is over: the right word now is no try at all
    chat.expect_not("Sag boluň, Aýna!")


# --- step-up and "send a new code": the code goes to the number on file at once ---------------------------------------
async def test_rs_step_up_sends_the_code_to_the_number_on_file(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    await aged(app, chat)
    await chat.press_payload("apuk")
    chat.expect(STEP_UP_SR, "Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67.", NO_SMS_ON_FILE_SR)
    chat.expect_not("Kako želite da se identifikujete?", "Podelite svoj broj")
    phone, text = await sms_sent(app)
    assert phone == "+381641234567"
    await chat.say(re.search(r"\d{6}", text).group(0))  # type: ignore[union-attr]
    # his only mobile line: not asked which
    chat.expect("Identifikovani ste kao Petar.", "PUK kod za 1234567/1: 40817263")


async def test_rs_step_up_in_turkmen_and_its_code_quota(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", "Türkmençe")
    for _ in range(3):
        await aged(app, chat)
        await chat.press_payload("apuk")
        chat.expect(STEP_UP_TK, "+381 65 ••• •• 78 belgä SMS arkaly bir gezeklik kod iberdim.")
        assert (await sms_sent(app))[0] == "+381652345678"
    await chat.press("Täze kod iber")  # the fourth code for the number within the window: refused as today
    chat.expect("Entek täze kod iberip bilemok: gysga wagtyň içinde kod gaty köp soraldy.")
    await no_sms(app)


async def test_tm_step_up_asks_the_code_word_again_without_the_number(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, AYNA, "Gülälek")
    await aged(app, chat)
    await chat.press_payload("apuk")
    chat.expect(STEP_UP_TK, "Indi kod sözüňizi ýazyň.")
    chat.expect_not("Identifikasiýadan nähili geçmek", "Belgiňizi")
    await chat.say("gulalik")
    chat.expect(MISMATCH_TK, WORD_AGAIN_TK)
    await chat.say("Gülälek")
    chat.expect("Sag boluň, Aýna!", "8100001/1 üçin PUK kody: 12345678")


async def test_tm_step_up_in_serbian_after_a_passport_asks_for_the_name_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona, ime i prezime i pasoš")
    await chat.say("+993 61 234567")
    await chat.say("Serdar Şamyradow")
    await chat.say("I-AŞ 654321")
    chat.expect("Identifikovani ste kao Serdar.")
    await aged(app, chat)
    await chat.press_payload("apuk")
    chat.expect(STEP_UP_SR, "Sada upišite ime i prezime vlasnika kako piše u pasošu.")
    chat.expect_not("Kako želite da se identifikujete?")
    await chat.say("Serdar Şamyradow")
    await chat.say("I-AŞ 654321")
    chat.expect("Identifikovani ste kao Serdar.", "Za koju liniju vam treba PUK kod?")  # two mobile lines: asked which


async def test_send_a_new_code_sends_it_at_once_to_the_same_number(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
    await chat.say("065 234 5678")
    first = await sms_code(app)
    await chat.press("Pošaljite novi kod")
    chat.expect("Poslala sam jednokratni kod SMS porukom na +381 65 ••• •• 78.", NO_SMS_NUMBER_SR)
    chat.expect_not("Podelite svoj broj", "treba mi još jednom")
    phone, text = await sms_sent(app)
    assert phone == "+381652345678"
    await chat.say(first)  # the new code replaced the first
    chat.expect("Kod nije tačan.")
    await chat.say(re.search(r"\d{6}", text).group(0))  # type: ignore[union-attr]
    chat.expect("Identifikovani ste kao Jelena.")


async def test_send_a_new_code_in_turkmen_for_a_customer_code(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Müşderi kody bilen")
    await chat.say("1234567")
    await sms_code(app)
    await chat.press("Täze kod iber")
    chat.expect("+381 64 ••• •• 67 belgä SMS arkaly bir gezeklik kod iberdim.")
    phone, text = await sms_sent(app)
    assert phone == "+381641234567"
    await chat.say(re.search(r"\d{6}", text).group(0))  # type: ignore[union-attr]
    chat.expect("Sag boluň, Petar!")


async def test_send_a_new_code_for_nobodys_code_answers_the_same_and_sends_nothing(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    known = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await known.say("1234567")
    await sms_code(app)
    unknown = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await unknown.say("7654321")
    shown = re.search(r"\+381 \d\d ••• •• \d\d", unknown.text).group(0)  # type: ignore[union-attr]
    await no_sms(app)
    await known.press("Pošaljite novi kod")
    await sms_code(app)
    await unknown.press("Pošaljite novi kod")
    await no_sms(app)
    assert shown in unknown.text  # the same made-up number as the first time
    shape = re.compile(r"\+381 \d\d ••• •• \d\d")
    assert shape.sub("…", known.text) == shape.sub("…", unknown.text)
    assert known.labels == unknown.labels


# --- what to do when no SMS comes -------------------------------------------------------------------------------------
async def test_an_unknown_number_hears_what_to_do_if_no_sms_comes_as_a_known_one_does(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    answers = []
    for number in ("065 234 5678", "065 999 8877"):  # Jelena's; nobody's
        chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
        await chat.say(number)
        chat.expect("Poslala sam jednokratni kod SMS porukom na", NO_SMS_NUMBER_SR)
        answers.append(re.sub(r"\+381 \d\d ••• •• \d\d", "…", chat.text))
    assert answers[0] == answers[1]
    await sms_code(app)
    await no_sms(app)

    by_code = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await by_code.say("7654321")
    by_code.expect(NO_SMS_CODE_SR)


async def test_the_advice_in_turkmen_names_the_profiles_contact_numbers(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi bilen")
    await chat.say("065 999 8877")
    chat.expect("+381 65 ••• •• 77 belgä SMS arkaly bir gezeklik kod iberdim.", NO_SMS_NUMBER_TK, "Jaň mugt.")
    await no_sms(app)


# --- one line: never asked to choose it -------------------------------------------------------------------------------
async def test_rs_one_line_is_not_chosen(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381665678901")  # Milica: one mobile line
    await chat.press_payload("afav")
    chat.expect("Upišite omiljeni broj za broj 5678901/1, sa pozivnim brojem.")
    chat.expect_not("Za koju liniju")
    await chat.press_payload("adisc")
    chat.expect("Da li da izdam nalog za uključenje paketa s popustom za broj 5678901/1?")
    chat.expect_not("Na kojoj liniji")
    await chat.press_payload("apuk")
    chat.expect("5678901/1")
    chat.expect_not("Za koju liniju vam treba PUK kod?")


async def test_tm_one_line_is_not_chosen(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, AYNA, "Gülälek")
    await chat.press_payload("afav")
    chat.expect("8100001/1 üçin söýgüli belgini kody bilen ýazyň.")
    await chat.press_payload("adisc")
    chat.expect("8100001/1 belgide ýeňillik paketini işletmek üçin sargyt bereýinmi?")
    await chat.press_payload("apuk")
    chat.expect("8100001/1 üçin PUK kody: 12345678")
    chat.expect_not("Haýsy belginiň PUK kody gerek?")


async def test_several_lines_are_still_chosen(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz")
    await chat.press_payload("apuk")
    chat.expect("Haýsy belginiň PUK kody gerek?")
