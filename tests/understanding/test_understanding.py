"""The understanding step on its own: sentences → intents and entities, the phrase files, the profile's synonyms."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot.core.amounts import amounts_in_sentence
from bot.core.understanding import LOCALES, Model, load_phrases, model_for
from bot.core.understanding.entities import ServiceNames, find_entities
from bot.profiles import PROFILE_DIR, Profile, ProfileError, load_profile, load_profile_file

ALL = set(load_phrases(["sr", "tk"])["sr"]) | set(load_phrases(["sr", "tk"])["tk"])


def _model(profile: str) -> Model:
    return model_for(load_profile(profile), ALL)


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("ćao", "talk:hello"),
        ("dobro veče", "talk:hello"),
        ("salam aleýkum", "talk:hello"),
        ("telefon mi ne radi jer kasnim sa uplatom, uključite me molim vas", "reconnect"),
        ("Мој број је искључен због дуга, платићу сутра", "reconnect"),
        ("kako da pustim roming pre puta", "services"),
        ("ugasite mi gprs", "services"),
        ("ne znam pin od kartice", "pin"),
        ("treba mi neko živ da mi objasni račun", "operator"),
        ("hoću da suspendujem broj na dve nedelje", "asusp"),
        ("pošaljite mi predračun na 1500 dinara", "ainv"),
        ("sms bukjany öçürmek isleýärin", "services"),
        ("PUK kodumy nädip bilip bilerin", "pin"),
        ("näçe tölemeli", "account"),
        ("telefonymy sazlamak barada maslahat", "ctopic:device_setup"),
        ("kod sözi näme", "code_word"),
        ("janly adam bilen gepleşmek", "operator"),
        ("soygul belgi", "afav"),  # Turkmen typed without its letters
        ("yenillik paketi", "adisc"),
    ],
)
def test_the_issues_sentences_are_understood(typed: str, intent: str) -> None:
    reading = _model("tm" if intent.startswith("ctopic") else "rs").read(typed)
    assert reading.confident, reading.ranked
    assert reading.ranked[0][0] == intent


def test_a_turkmen_sentence_is_recognised_as_turkmen_and_a_serbian_one_as_serbian() -> None:
    model = _model("rs")
    assert model.read("sms bukjany öçürmek isleýärin").language == "tk"
    assert model.read("ugasite mi gprs molim vas").language == "sr"
    assert model.read("ок").language is None  # one word says nothing


def test_entities_fill_the_steps() -> None:
    names = ServiceNames(load_profile("rs"))
    off = find_entities("ugasite mi gprs", names)
    assert (off.service, off.on) == ("gprs", False)
    on = find_entities("telefon mi ne radi, uključite roming", names)
    assert (on.service, on.on) == ("roaming", True)
    assert find_entities("ne uključujte preusmeravanje", names).on is False
    assert find_entities("internet u inostranstvu", names).service == "roaming"
    assert find_entities("hoću da suspendujem broj na dve nedelje", names).days == 14
    assert find_entities("na 7 dana", names).days == 7
    assert find_entities("pošaljite mi predračun na 1500 dinara", names).amount == Decimal("1500.00")
    assert find_entities("moj broj je 064 123 4567", names).phone == "0641234567"
    assert find_entities("racun 1234567/1", names).account == "1234567/1"
    assert find_entities("sta je sa r-12345678", names).reference == "R-12345678"
    assert find_entities("pisi na turkmenskom", names).language == "tk"
    tm = ServiceNames(load_profile("tm"))
    assert find_entities("sms bukjany öçürmek isleýärin", tm).service == "sms_pkg"
    assert find_entities("iki hepde togtadyň", tm).days == 14
    assert find_entities("on dört gün", tm).days == 14


def test_amounts_in_a_sentence() -> None:
    assert amounts_in_sentence("1.500 din i jos 200") == [Decimal("1500.00"), Decimal("200.00")]
    assert amounts_in_sentence("1 500,50 RSD") == [Decimal("1500.50")]
    assert amounts_in_sentence("zovite 0641234567") == []
    assert amounts_in_sentence("račun 1234567/1") == []


def test_phrase_files_are_intent_to_phrases_in_both_languages() -> None:
    phrases = load_phrases(["sr", "tk"])
    assert set(phrases) == {"sr", "tk"}
    assert set(phrases["sr"]) == set(phrases["tk"]), "every intent has phrases in both languages"
    for table in phrases.values():
        assert all(len(lines) >= 3 for lines in table.values())


def test_a_malformed_phrase_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sr").mkdir()
    (tmp_path / "sr" / "phrases.yaml").write_text("menu: meni\n", encoding="utf-8")
    with pytest.raises(ValueError, match="intent"):
        load_phrases(["sr"], tmp_path)


def test_a_synonym_naming_two_services_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((PROFILE_DIR / "rs.yaml").read_text(encoding="utf-8"))
    data["services"][0]["synonyms"] = ["roming"]
    file = tmp_path / "rs.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="roming"):
        load_profile_file(file)
    data["services"][0]["synonyms"] = [" "]
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="synonyms"):
        load_profile_file(file)


def test_the_model_is_fitted_once_per_profile() -> None:
    profile: Profile = load_profile("rs")
    assert model_for(profile, ALL) is model_for(profile, ALL)
    assert LOCALES.is_dir()
