"""Yes and no typed in people's words: the words are data in locales/<language>/answers.yaml, read once, and none
of them may be a global keyword that means something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import engine as engine_module
from bot.core.answers import load_answers, shipped, yes_or_no
from bot.core.engine import Engine
from tests.conftest import AppFactory

ISSUE_YES = ["može", "važi", "naravno", "hajde", "bolýar", "elbetde"]
ISSUE_NO = ["ne hvala", "nema potrebe", "ýok, gerek däl"]


@pytest.mark.parametrize("word", ISSUE_YES)
def test_the_yes_words_are_yes_in_every_way_they_are_typed(word: str) -> None:
    assert yes_or_no(word) is True
    assert yes_or_no(word.upper() + "!") is True
    assert yes_or_no(word.replace("ž", "z").replace("ý", "y")) is True


@pytest.mark.parametrize("word", ISSUE_NO)
def test_the_no_words_are_no_in_every_way_they_are_typed(word: str) -> None:
    assert yes_or_no(word) is False
    assert yes_or_no(word.replace(",", "").replace("ä", "a").replace("ý", "y")) is False


def test_cyrillic_whole_messages_and_the_words_yaml_would_read_as_booleans() -> None:
    assert yes_or_no("Може") is True and yes_or_no("НЕМА ПОТРЕБЕ") is False
    assert yes_or_no("ne znam") is None and yes_or_no("hajde da vidimo") is None
    assert (yes_or_no("yes"), yes_or_no("no"), yes_or_no("ok")) == (True, False, True)
    assert shipped() is shipped()  # read once


def _locales(tmp_path: Path, sr: str, tk: str = "yes: [hawa]\nno: [ýok]\n") -> Path:
    for language, text in (("sr", sr), ("tk", tk)):
        (tmp_path / language).mkdir(exist_ok=True)
        (tmp_path / language / "answers.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_both_languages_files_make_one_table(tmp_path: Path) -> None:
    answers = load_answers(_locales(tmp_path, "yes: [može]\nno:\n  - ne hvala\n"))
    assert (answers.answer("moze"), answers.answer("Hawa"), answers.answer("ne, hvala")) == (True, True, False)
    assert answers.answer("yok") is False


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("yes: može\n", "expected yes"),
        ("maybe: [možda]\n", "expected yes"),
        ("yes: [može]\nno: [Može]\n", "both a yes and a no: moze"),
        ("yes: ['!!']\n", "empty"),
    ],
)
def test_a_malformed_answer_file_is_refused(tmp_path: Path, text: str, refused: str) -> None:
    with pytest.raises(ValueError, match=refused):
        load_answers(_locales(tmp_path, text))


async def test_a_yes_or_no_word_that_is_a_global_keyword_is_refused_at_start(
    make_app: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app("rs")
    shipped().refuse_keywords(app.engine.keywords)  # the shipped words clash with no keyword
    clashing = load_answers(_locales(tmp_path, "yes: [može, meni]\nno: [ne, operatr]\n"))  # a slip: still a keyword
    with pytest.raises(ValueError, match=r"'meni' is a yes and the keyword of 'menu'.*'operatr' is a no and "
                       r"the keyword of 'operator'"):  # fmt: skip
        clashing.refuse_keywords(app.engine.keywords)
    monkeypatch.setattr(engine_module, "shipped", lambda: clashing)
    with pytest.raises(ValueError, match="meni"):
        Engine(app.deps, app.engine.router)
