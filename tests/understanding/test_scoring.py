"""The step's own arithmetic for one message equals scikit-learn's, and the service names found through the index
are those a scan of every name finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from bot.core.keywords import has_run, words_of
from bot.core.text import digraph_fold, fold
from bot.core.understanding import _prepare, load_phrases, model_for
from bot.core.understanding.entities import ServiceNames
from bot.core.understanding.evaluate import load_labelled
from bot.core.understanding.scoring import Classifier, Features, Unsupported
from bot.profiles import load_profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "understanding"
SETS = {"rs": FIXTURES / "eval_sr.yaml", "tm": FIXTURES / "eval_tk.yaml"}
PHRASES = load_phrases(["sr", "tk"])
ALL = set(PHRASES["sr"]) | set(PHRASES["tk"])
SENTENCES = ["hoću da suspendujem broj na dve nedelje", "ugasite mi gprs", "", "!!!", "qqqq zzzz", "ок"]
TOLERANCE = 1e-9


def _messages(profile: str) -> list[str]:
    return [_prepare(m.text) for m in load_labelled(SETS[profile])] + [_prepare(s) for s in SENTENCES]


@pytest.mark.parametrize("profile", list(SETS))
def test_the_features_and_probabilities_are_scikit_learns(profile: str) -> None:
    model = model_for(load_profile(profile), ALL)
    assert model.language is not None, "the profile speaks two languages: a language is told"
    for text in _messages(profile):
        expected = model.features.transform([text])
        columns, values = model.vector(text)
        row = np.zeros(expected.shape[1])
        row[columns] = values
        assert np.abs(row - expected.toarray()[0]).max() <= TOLERANCE, text
        ours = model.intent_scores.probabilities((columns, values))
        assert np.abs(ours - model.intents.predict_proba(expected)[0]).max() <= TOLERANCE, text
        assert model.language_scores is not None
        shares = model.language_scores.probabilities((columns, values))
        assert np.abs(shares - model.language.predict_proba(expected)[0]).max() <= TOLERANCE, text
    assert model.intent_scores.classes == tuple(model.intents.classes_)


def _fitted(union: FeatureUnion) -> tuple[FeatureUnion, LogisticRegression, list[str]]:
    texts = [_prepare(p) for intent in ("menu", "help", "pin") for p in PHRASES["sr"][intent]]
    labels = [intent for intent in ("menu", "help", "pin") for _ in PHRASES["sr"][intent]]
    classifier = LogisticRegression(max_iter=1000).fit(union.fit_transform(texts), labels)
    return union, classifier, texts


def test_plain_term_counts_are_scored_as_scikit_learn_does() -> None:
    union, classifier, texts = _fitted(
        FeatureUnion([("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=False))])
    )
    features, scores = Features(union), Classifier(classifier, len(union.transformer_list[0][1].vocabulary_))
    for text in [*texts, *map(_prepare, SENTENCES)]:
        expected = classifier.predict_proba(union.transform([text]))[0]
        assert np.abs(scores.probabilities(features(text)) - expected).max() <= TOLERANCE, text


@pytest.mark.parametrize(
    ("part", "refused"),
    [
        (TfidfVectorizer(norm="l1"), "norm"),
        (TfidfVectorizer(norm=None), "norm"),
        (TfidfVectorizer(use_idf=False), "use_idf"),
        (TfidfVectorizer(binary=True), "binary"),
        (TfidfVectorizer(dtype=np.float32), "dtype"),
        (CountVectorizer(), "TfidfVectorizer"),
    ],
)
def test_vectorizer_settings_it_does_not_compute_are_refused(part: object, refused: str) -> None:
    union, _classifier, _texts = _fitted(FeatureUnion([("words", part)]))
    with pytest.raises(Unsupported, match=refused):
        Features(union)


def test_weighted_parts_and_sparse_coefficients_are_refused() -> None:
    union, classifier, _texts = _fitted(
        FeatureUnion([("words", TfidfVectorizer())], transformer_weights={"words": 2.0})
    )
    with pytest.raises(Unsupported, match="transformer_weights"):
        Features(union)
    width = len(union.transformer_list[0][1].vocabulary_)
    with pytest.raises(Unsupported, match="features"):
        Classifier(classifier, width + 1)
    classifier.sparsify()
    with pytest.raises(Unsupported, match="sparse"):
        Classifier(classifier, width)


def _scan(names: ServiceNames, words: list[str]) -> str | None:
    """Every name in turn, longest first: what the index must give."""
    return next((code for name, code in names.names if has_run(words, name)), None)


@pytest.mark.parametrize("profile", list(SETS))
def test_the_service_index_finds_what_a_scan_of_every_name_finds(profile: str) -> None:
    names = ServiceNames(load_profile(profile))
    texts = [m.text for file in SETS.values() for m in load_labelled(file)]
    texts += [p for table in PHRASES.values() for lines in table.values() for p in lines]
    texts += [name for words, _code in names.names for name in (" ".join(words), " ".join(words) + "a")]
    found = 0
    for text in texts:
        words = words_of(digraph_fold(fold(text)))
        expected = _scan(names, words)
        assert names.find(words) == expected, text
        found += expected is not None
    assert found > 100
