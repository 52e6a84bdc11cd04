"""The understanding step on the labelled evaluation sets, written apart from the training phrases: the suite fails
when it routes fewer messages right, more wrong, or fewer straight to the step they name than the targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.text import fold
from bot.core.understanding import load_phrases
from bot.core.understanding.evaluate import load_labelled, report, score
from tests.conftest import AppFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "understanding"
SETS = {"sr": ("rs", FIXTURES / "eval_sr.yaml"), "tk": ("tm", FIXTURES / "eval_tk.yaml")}
RIGHT, WRONG, STRAIGHT = 0.92, 0.02, 0.75
MIN_MESSAGES = 300


@pytest.mark.parametrize("language", list(SETS))
def test_no_evaluation_message_is_a_training_phrase(language: str) -> None:
    phrases = load_phrases(["sr", "tk"])
    trained = {fold(p) for table in phrases.values() for lines in table.values() for p in lines}
    labelled = load_labelled(SETS[language][1])
    assert len(labelled) >= MIN_MESSAGES
    assert len({fold(m.text) for m in labelled}) == len(labelled), "a message twice in the set"
    assert [m.text for m in labelled if fold(m.text) in trained] == []


@pytest.mark.parametrize("language", list(SETS))
async def test_the_evaluation_set_meets_the_targets(make_app: AppFactory, language: str) -> None:
    profile, file = SETS[language]
    app = await make_app(profile)
    result = score(app.engine.understanding, load_labelled(file), tuple(app.deps.profile.languages))
    summary = report(result)
    assert result.right_share >= RIGHT, summary
    assert result.wrong_share <= WRONG, summary
    assert result.straight_share >= STRAIGHT, summary
