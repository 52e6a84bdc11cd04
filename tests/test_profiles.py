"""Operator profiles: both load, every fact of the operator's documents is in them exactly, a broken one stops
start-up with the file and the field named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import PROJECT_ROOT
from bot.core.catalogs import read_catalog
from bot.profiles import PROFILE_DIR, ProfileError, load_profile, load_profile_file

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
SEED_OF = {"rs": ("000_3c3c87ff49d02071.txt", "sr"), "tm": ("004_8d2bdc03b49ccb61.txt", "tk")}
# Lines of the documents that are page furniture, not facts: a screen-sharing banner and "more…" links.
NOT_FACTS = {"Vaš ekran se trenutno deli sa agentom.", "Detaljnije"}
# The Turkmen document writes "MMС" with a Cyrillic Es; the service is MMS.
SEED_TYPOS = {"MMС": "MMS"}


def _strings(node: object, language: str) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in ([value] if key == language and isinstance(value, str)
                                                            else _strings(value, language))]  # fmt: skip
    if isinstance(node, list):
        return [s for value in node for s in _strings(value, language)]
    return [node] if isinstance(node, str) else []


def _bot_text(profile: str, language: str) -> str:
    """Everything the bot can say in that language: the profile's texts and the UI catalog."""
    raw = yaml.safe_load((PROFILE_DIR / f"{profile}.yaml").read_text(encoding="utf-8"))
    catalog = read_catalog(PROJECT_ROOT / "locales" / language / "LC_MESSAGES" / "messages.po")
    ui = [str(m.string) for m in catalog if m.id]
    return "\n".join(" ".join(line.split()) for text in _strings(raw, language) + ui for line in text.splitlines())


@pytest.mark.parametrize("profile", ["rs", "tm"])
def test_every_fact_of_the_operators_document_is_in_the_bot(profile: str) -> None:
    seed_file, language = SEED_OF[profile]
    said = _bot_text(profile, language)
    missing = []
    for line in (SEEDS / seed_file).read_text(encoding="utf-8").splitlines():
        line = " ".join(line.split()).lstrip("•").strip().rstrip(":").strip()  # non-breaking spaces are spaces
        for typo, fixed in SEED_TYPOS.items():
            line = line.replace(typo, fixed)
        if not line or line in NOT_FACTS or line.startswith("Detaljnije"):
            continue
        for sentence in re.split(r"(?<=[.;])\s+(?=[A-ZŞÜÖÇÄÝŽ“])", line):
            if sentence not in said:
                missing.append(sentence)
    assert not missing, "not in the bot, word for word:\n" + "\n".join(missing)


def _tk_values(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in ([value] if key == "tk" else _tk_values(value))]
    return [s for value in node for s in _tk_values(value)] if isinstance(node, list) else []


def test_our_own_turkmen_follows_the_documents_words() -> None:
    """Beyond the operator's own sentences: a bundle of services is a "bukja" (Internet-bukja, SMS-bukjalar), as in
    the document, whose "Ýeňillik paketi" and "paket bilen" (packet data) are names, not bundles; and the genitive
    of "müşderi" is "müşderiniň"."""
    seed = " ".join((SEEDS / SEED_OF["tm"][0]).read_text(encoding="utf-8").split())
    catalog = read_catalog(PROJECT_ROOT / "locales" / "tk" / "LC_MESSAGES" / "messages.po")
    turkmen = [str(m.string) for m in catalog if m.id]
    for profile in ("rs", "tm"):
        raw = yaml.safe_load((PROFILE_DIR / f"{profile}.yaml").read_text(encoding="utf-8"))
        turkmen += _tk_values(raw)
    for text in turkmen:
        for line in text.splitlines():
            own = " ".join(s for s in re.split(r"(?<=[.;])\s+", line) if s not in seed)
            assert not re.search(r"\bmüşderii?ň\b", own, re.IGNORECASE), line
            bundles = re.sub(r"ýeňillik paket|paket bilen", "", own, flags=re.IGNORECASE)
            assert not re.search(r"paket", bundles, re.IGNORECASE), line


@pytest.mark.parametrize(
    ("profile", "facts"),
    [
        ("rs", ["0800 100 100", "Bulevar Umetnosti 16, 11000 Beograd", "mtsinfo@telekom.rs", "info@telekom.rs"]),
        ("tm", ["0890", "(+993 66) 300890", "0890@mts.tm"]),
    ],
)
def test_contact_facts_in_every_language(profile: str, facts: list[str]) -> None:
    loaded = load_profile(profile)
    for key in loaded.content_keys:
        contacts = loaded.text("contacts")[key]
        for fact in facts:
            assert fact in contacts, f"{profile}/{key}: {fact}"


def test_the_tm_catalogue_lists_the_documents_services() -> None:
    services = load_profile("tm").services
    names = [s.name["tk"] for s in services]
    assert names[:3] == [
        "SMS",
        "Belgini awtomatiki anyklaýjynyň garşysyna goýulýan enjam (AntiAON)",
        "Belgini anyklaýjynyň garşysyna goýlan enjamy döwýän (AntiAON döwüji)",
    ]
    assert len(services) == 11
    assert len(load_profile("tm").consultations) == 9


def _broken(tmp_path: Path, edit: str, replacement: str) -> Path:
    text = (PROFILE_DIR / "rs.yaml").read_text(encoding="utf-8")
    assert edit in text
    file = tmp_path / "broken.yaml"
    file.write_text(text.replace(edit, replacement, 1), encoding="utf-8")
    return file


@pytest.mark.parametrize(
    ("edit", "replacement", "named"),
    [
        (
            '      tk: "şäher telefon ulgamynyň, mts TV-niň, internetiň we hyzmat bukjalarynyň hyzmatlary üçin"\n',
            "",
            "emails[1].purpose: missing tk text",
        ),
        ("timezone: Europe/Belgrade", "timezone: Europe/Novi_Sad", "timezone: unknown time zone"),
        ("    requires: [gprs]\n", "    requires: [gprss]\n", "requires unknown service 'gprss'"),
        ("default_language: sr", "default_language: de", "default_language 'de' is not in languages"),
        ("  promise_days: 5", "  promise_days: 500", "policies.promise_days"),
        ("menu: [reconnect,", "menu: [teleport,", "menu.0"),
        ("currency: RSD", "currency: dinar", "currency"),
        ("  payment_info:\n", "  payment_info_old:\n", "texts is missing payment_info"),
    ],
)
def test_a_broken_profile_names_the_file_and_the_field(tmp_path: Path, edit: str, replacement: str, named: str) -> None:
    file = _broken(tmp_path, edit, replacement)
    with pytest.raises(ProfileError) as caught:
        load_profile_file(file)
    message = str(caught.value)
    assert str(file) in message and named in message, message


def test_a_profile_that_is_not_yaml(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile_file(file)


def test_an_operator_can_bring_their_own_profile_file(tmp_path: Path) -> None:
    file = _broken(tmp_path, "id: rs", "id: xx")
    assert load_profile(str(file)).id == "xx"


# --- drafts: what the operator must confirm --------------------------------------------------------------------------
def test_what_is_not_from_the_operators_documents_is_marked_draft() -> None:
    rs, tm = load_profile("rs"), load_profile("tm")
    # rs: the documents give the reconnection, the identification and the complaint channels; the rest is ours.
    for part in ("policies", "support_hours", "complaints", "texts.pin_unblock", "texts.payment_info", "texts.about"):
        assert part in rs.drafts
    assert {f"services.{s.code}" for s in rs.services} <= set(rs.drafts), "the rs catalogue is not the operator's"
    for facts in ("contact_centre", "emails", "texts.complaint_channels", "texts.reconnect_assistant_steps"):
        assert not any(d == facts or d.startswith(facts + ".") for d in rs.drafts), facts
    # tm: the service names, the code word and the contacts are the documents'; answers and descriptions are ours.
    assert {f"consultations.{t.code}.answer" for t in tm.consultations} <= set(tm.drafts)
    assert {f"account_actions.{t.code}.answer" for t in tm.account_actions} <= set(tm.drafts)
    assert {f"services.{s.code}.description" for s in tm.services} <= set(tm.drafts)
    assert {"complaints", "texts.payment_info", "texts.corporate"} <= set(tm.drafts)  # categories, days, wording
    assert not any(d.startswith(("texts.code_word", "texts.contacts", "texts.ivr")) for d in tm.drafts)
    assert "draft" not in rs.model_dump_json() and "draft" not in tm.model_dump_json(), "the marks are not data"


def _sentences(text: str, documents: str) -> list[str]:
    """A text's sentences, each line's heading ("Pismo: …", where the documents have it) left out."""
    found = []
    for line in text.splitlines():
        head, colon, rest = line.partition(": ")
        if colon and len(head.split()) <= 3 and head in documents:
            line = rest
        found += re.split(r"(?<=[.;])\s+(?=[A-ZÄÇŇÖŞÜÝŽ“„])", line)
    return [" ".join(sentence.split()) for sentence in found if sentence.strip()]


@pytest.mark.parametrize(("name", "language"), [("rs", "sr"), ("tm", "tk")])
def test_a_text_not_marked_draft_is_the_operators_own_words(name: str, language: str) -> None:
    """Every sentence of a profile text without `draft: true`, in the operator's language, stands in its documents."""
    documents = " ".join(" ".join(f.read_text(encoding="utf-8").split()) for f in sorted(SEEDS.glob("*.txt")))
    raw = yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    for key, text in raw["texts"].items():
        if text.get("draft"):
            continue
        for sentence in _sentences(text[language], documents):
            assert sentence in documents, f"{name} texts.{key}: not in the operator's documents: {sentence!r}"


def test_a_draft_mark_must_be_true_or_false(tmp_path: Path) -> None:
    file = _broken(tmp_path, "policies:\n  draft: true\n", "policies:\n  draft: maybe\n")
    with pytest.raises(ProfileError, match="policies: draft must be true or false"):
        load_profile_file(file)


def test_mila_profile_check_lists_the_drafts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "check", "--profile", "tm"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "tm: valid (MTS, languages tk, sr, sr-Cyrl)"
    assert "  consultations.roaming.answer" in out and "  texts.pin_unblock" in out
    assert "  texts.code_word" not in out
    drafts = load_profile("tm").drafts
    assert f"{len(drafts)} parts are marked draft — not from the operator's documents; have the operator" in out
    assert [line.strip() for line in out if line.startswith("  ")] == list(drafts)


def test_what_a_profile_lacks_for_payment_and_the_discount_package_is_listed_not_refused() -> None:
    for name in ("rs", "tm"):
        gaps = load_profile(name).gaps()
        assert any(gap.startswith("payment is missing") for gap in gaps), gaps
        assert any(gap.startswith("texts is missing discount_package") for gap in gaps), gaps


def test_mila_profile_check_warns_what_the_invoice_and_the_package_lack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "check", "--profile", "rs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("warning: payment is missing: the invoice for advance payment") for line in out), out
    assert any(line.startswith("warning: texts is missing discount_package") for line in out), out


def test_advance_payment_bounds_must_be_in_order(tmp_path: Path) -> None:
    raw = yaml.safe_load((PROFILE_DIR / "rs.yaml").read_text(encoding="utf-8"))
    raw["policies"].update(advance_min=500, advance_max=100)
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="advance_max 100 is below advance_min 500"):
        load_profile(str(file))
