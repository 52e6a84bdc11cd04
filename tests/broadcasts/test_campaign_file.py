"""The campaign file: what marketing writes is checked before anything is stored, with the field named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import PROJECT_ROOT
from bot.core.i18n import I18n
from bot.core.replies import Picture
from bot.services.campaigns.message import compose
from bot.services.campaigns.spec import CampaignFileError, load, quiet_until

YAML = """
name: Nova tarifa Start
profile: rs
start: 2026-12-01 10:00
quiet_hours: "21:00-09:00"
text:
  sr: "Nova tarifa Start: 20 GB za 990 dinara mesečno. Šljiva, đak, džem, njiva, ljubav."
  tk: "Täze Start tarifi: aýda 20 GB. Ýaňy gün, çaý, şäher, köp, žurnal."
picture: https://static.example.com/start.jpg
button:
  url: https://mts.rs/start
  label: {sr: Saznaj više, tk: Giňişleýin}
segment:
  channels: [telegram, viber]
  languages: [sr, sr-Cyrl, tk]
  identified: true
  account_kinds: [mobile]
  tariffs: [Postpaid S]
  active_days: 90
"""


def write(tmp_path: Path, content: str, name: str = "campaign.yaml") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_a_yaml_file_gives_the_texts_of_every_language_with_cyrillic_generated(tmp_path: Path) -> None:
    spec = load(write(tmp_path, YAML))
    assert spec.languages() == ["sr", "sr-Cyrl", "tk"]
    assert spec.text_for("sr-Cyrl").startswith("Нова тарифа Старт") and "Шљива, ђак, џем, њива, љубав" in spec.text_for(
        "sr-Cyrl"
    )
    assert spec.text_for("tk").endswith("Ýaňy gün, çaý, şäher, köp, žurnal.")
    assert spec.button_label("sr-Cyrl") == "Сазнај више"
    # 10:00 in Belgrade on 1 December is 09:00 UTC
    assert spec.starts_at("Europe/Belgrade", datetime.now(UTC)) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_hand_written_cyrillic_text_and_label_replace_the_generated_ones(tmp_path: Path) -> None:
    yaml = YAML.replace(
        '  tk: "Täze',
        '  sr-Cyrl: "Нова тарифа Start: 20 GB за 990 динара месечно."\n  tk: "Täze',
    ).replace("label: {sr: Saznaj više,", "label: {sr: Saznaj više, sr-Cyrl: Сазнајте више,")
    spec = load(write(tmp_path, yaml))
    assert spec.languages() == ["sr", "sr-Cyrl", "tk"]
    assert spec.text_for("sr-Cyrl") == "Нова тарифа Start: 20 GB за 990 динара месечно."
    assert spec.button_label("sr-Cyrl") == "Сазнајте више"
    [message] = compose(spec, 7, I18n(PROJECT_ROOT / "locales").get("sr-Cyrl"))
    assert isinstance(message, Picture) and message.caption == "Нова тарифа Start: 20 GB за 990 динара месечно."
    assert message.buttons[0][0].label == "Сазнајте више"
    # the Latin text and label are still the ones Latin readers get
    assert spec.text_for("sr").startswith("Nova tarifa Start") and spec.button_label("sr") == "Saznaj više"


def test_the_same_campaign_as_toml(tmp_path: Path) -> None:
    toml = """
name = "Start"
profile = "tm"
quiet_hours = "22:00-08:30"
[text]
tk = "Täze Start tarifi"
[segment]
languages = ["tk"]
"""
    spec = load(write(tmp_path, toml, "campaign.toml"))
    assert spec.profile == "tm" and spec.languages() == ["tk"] and spec.quiet_hours == "22:00-08:30"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('  sr: "Nova tarifa', '  xx: "Nova tarifa'), "text: text in 'xx': write sr and tk"),
        (("picture: https://", "picture: http://"), "picture: the picture must be an https:// URL"),
        (('quiet_hours: "21:00-09:00"', 'quiet_hours: "late"'), "quiet_hours: write it as HH:MM-HH:MM"),
        (("account_kinds: [mobile]", "account_kinds: [pager]"), "segment.account_kinds.0"),
        (("channels: [telegram, viber]", "channels: [telegram, console]"), "segment.channels.1"),
        (("languages: [sr, sr-Cyrl, tk]", "languages: [de]"), "segment.languages: unknown language 'de'"),
        (('  tk: "Täze', '  # tk: "Täze'), "no text in 'tk' for the users who read 'tk'"),
        (("name: Nova", "nam: Nova"), "name: missing (this field is required)"),
    ],
)
def test_a_wrong_file_is_refused_with_the_field_named(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(CampaignFileError) as refused:
        load(write(tmp_path, YAML.replace(*change)))
    assert message in str(refused.value)


def test_a_file_that_is_not_yaml_or_not_there(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match="is not valid YAML"):
        load(write(tmp_path, "name: [unclosed"))
    with pytest.raises(CampaignFileError, match="cannot read"):
        load(tmp_path / "missing.yaml")


def test_every_error_of_a_file_is_reported_on_a_line_of_its_own_with_the_field_named_once(tmp_path: Path) -> None:
    wrong = (
        YAML.replace("picture: https://", "picture: http://")
        .replace("url: https://mts.rs", "url: mts.rs")
        .replace('quiet_hours: "21:00-09:00"', 'quiet_hours: "late"')
        .replace("  channels:", "  chanels:")
    )
    with pytest.raises(CampaignFileError) as refused:
        load(write(tmp_path, wrong))
    lines = str(refused.value).splitlines()
    assert sorted(lines) == sorted([
        "picture: the picture must be an https:// URL (Telegram and Viber fetch it themselves)",
        "button.url: the button's url must start with https://",
        "quiet_hours: write it as HH:MM-HH:MM, e.g. 21:00-09:00",
        "segment.chanels: unknown field (allowed: channels, languages, identified, account_kinds, tariffs, "
        "active_days)",
    ]), lines  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start: 2026-12-01 10:00", "start: 1.12.2026 10:00"),
         "start: '1.12.2026 10:00' is not a date and time: write it as YYYY-MM-DD HH:MM, e.g. 2026-12-01 10:00"),
        (('quiet_hours: "21:00-09:00"', "quiet_hours: 22:00"),
         'quiet_hours: put it in quotes, e.g. quiet_hours: "21:00-09:00" (unquoted, YAML reads 21:00 as a number)'),
        (("name: Nova tarifa Start", "name: Nova tarifa Start\ncolour: red"),
         "colour: unknown field (allowed: name, profile, text, picture, button, start, quiet_hours, segment)"),
    ],
)  # fmt: skip
def test_what_to_write_instead_is_said(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(CampaignFileError) as refused:
        load(write(tmp_path, YAML.replace(*change)))
    assert str(refused.value) == message


def test_an_empty_or_broken_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError) as refused:
        load(write(tmp_path, "\n# nothing yet\n"))
    assert str(refused.value) == "campaign.yaml is empty: write the campaign's fields (name, profile, text, …)"
    with pytest.raises(CampaignFileError) as refused:
        load(write(tmp_path, "name: [unclosed"))
    assert "\n" not in str(refused.value) and "(line 1, column 16)" in str(refused.value), refused.value


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.yaml", "name: " + "[" * 100_000 + "]" * 100_000),
        ("deep.toml", "name = " + "[" * 100_000 + "]" * 100_000),
        ("mapping.yaml", "".join("  " * depth + f"k{depth}:\n" for depth in range(3000)) + "  " * 3000 + "x: 1\n"),
    ],
)
def test_a_deeply_nested_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str
) -> None:
    with pytest.raises(CampaignFileError) as refused:
        load(write(tmp_path, content, name))
    assert str(refused.value) == f"{name} is nested too deeply to be a campaign file", refused.value
    assert main(["campaign", "create", str(tmp_path / name), "--dry-run"]) == 1
    assert capsys.readouterr().err == f"mila: {name} is nested too deeply to be a campaign file\n"


def test_the_extension_is_read_in_any_case(tmp_path: Path) -> None:
    spec = load(write(tmp_path, 'name = "Start"\nprofile = "tm"\n[text]\ntk = "Täze"\n', "CAMPAIGN.TOML"))
    assert spec.name == "Start" and spec.text == {"tk": "Täze"}


@pytest.mark.parametrize(
    ("utc", "until"),
    [
        (datetime(2026, 12, 1, 21, 30, tzinfo=UTC), datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),  # 22:30 in Belgrade
        (datetime(2026, 12, 2, 7, 59, tzinfo=UTC), datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),  # 08:59
        (datetime(2026, 12, 2, 8, 0, tzinfo=UTC), None),  # 09:00: messages may go
        (datetime(2026, 12, 2, 19, 59, tzinfo=UTC), None),  # 20:59
        (datetime(2026, 7, 1, 19, 0, tzinfo=UTC), datetime(2026, 7, 2, 7, 0, tzinfo=UTC)),  # summer time: 21:00
    ],
)
def test_quiet_hours_are_the_profile_s_local_time(utc: datetime, until: datetime | None) -> None:
    assert quiet_until("21:00-09:00", "Europe/Belgrade", utc) == until
