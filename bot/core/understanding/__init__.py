"""Understanding what subscribers type: a sentence → the intents it may mean, ranked, and the things it names.

Subscribers write sentences ("ugasite mi gprs", "näçe tölemeli"), not menu labels. The engine asks this step only
where a typed text is no button, no exact keyword and no answer the current state reads as data.

Method: character n-grams (2–5 letters inside words, plus whole words and word pairs) weighted by TF-IDF, and a
logistic regression over them, trained when first needed from the phrase files `locales/<lang>/phrases.yaml`
(intent → phrases) and the profile's service names and synonyms. Character n-grams are what make it robust to the
ways people type on a phone: another ending ("računa", "račun"), no diacritics, a slip, Cyrillic (everything is
`fold`ed first, so Serbian Cyrillic is read as Latin and ä ç ň ö ş ü ý ž as plain letters). One model covers every
language of the profile, so a Turkmen sentence in a Serbian chat is understood too; a second classifier on the
same features says which language a sentence is in, for the offer to switch.

Fitted models are cached per profile and set of intents, in memory: nothing is downloaded or written. A model of
~2,000 phrases takes a few seconds to fit and a few MiB of memory; a message is then read in a fraction of a
millisecond, with the fitted weights applied directly (`scoring`; scikit-learn's own calls cost ~2 ms per message).
See `bench/understanding.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from bot.core.text import digraph_fold, fold
from bot.core.understanding.entities import Entities, ServiceNames, find_entities
from bot.core.understanding.scoring import Classifier, Features
from bot.profiles import Profile

LOCALES = Path(__file__).resolve().parents[3] / "locales"
PHRASE_FILE = "phrases.yaml"
OUT_OF_SCOPE = "out_of_scope"  # phrases about nothing the bot does: trained so that they are not forced elsewhere
SERVICES = "services"

CONFIDENT = 0.45  # the best intent runs when its share is at least this …
MARGIN = 0.15  # … and ahead of the second by this much
CLOSE = 0.15  # otherwise, two candidates each at least this likely, together at least TOGETHER, are asked about
TOGETHER = 0.4
LANGUAGE_SURE = 0.85  # the language of a sentence is taken as known from this share
WORD = r"\w+"  # a word feature: letters and digits
MIN_LANGUAGE_WORDS = 2  # one word ("ok", "sms") says nothing about a language
ACCOUNT_NUMBER = "/"  # an account number ("2345678/1") names a line; a bare customer code does not


@dataclass(frozen=True, slots=True)
class Reading:
    """What the step made of one text."""

    folded: str
    ranked: tuple[tuple[str, float], ...]  # intents, most likely first, with their probability
    entities: Entities
    language: str | None  # the language of the text when it is clear, else None
    best: str | None = field(default=None)

    @property
    def confident(self) -> bool:
        if not self.ranked or self.ranked[0][0] == OUT_OF_SCOPE:
            return False
        top = self.ranked[0][1]
        second = self.ranked[1][1] if len(self.ranked) > 1 else 0.0
        return top >= CONFIDENT and top - second >= MARGIN

    @property
    def candidates(self) -> tuple[str, ...]:
        """Two intents close enough to ask about, when not confident; else ()."""
        if self.confident or len(self.ranked) < 2:
            return ()
        (first, p1), (second, p2) = self.ranked[0], self.ranked[1]
        if OUT_OF_SCOPE in (first, second) or p2 < CLOSE or p1 + p2 < TOGETHER:
            return ()
        return (first, second)


def load_phrases(languages: Iterable[str], directory: Path = LOCALES) -> dict[str, dict[str, list[str]]]:
    """language → intent → phrases, from `<directory>/<language>/phrases.yaml` (a missing file is no phrases)."""
    out: dict[str, dict[str, list[str]]] = {}
    for language in languages:
        file = directory / language / PHRASE_FILE
        if not file.is_file():
            continue
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v) for k, v in data.items()
        ):
            raise ValueError(f"{file}: expected intent: [phrases]")
        out[language] = {intent: list(phrases) for intent, phrases in data.items()}
    return out


def _prepare(text: str) -> str:
    return digraph_fold(fold(text))


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=WORD)),
        ]
    )


class Model:
    """The fitted classifiers of one profile."""

    def __init__(self, profile: Profile, phrases: Mapping[str, Mapping[str, list[str]]], intents: set[str]) -> None:
        texts: list[str] = []
        labels: list[str] = []
        languages: list[str] = []
        for language, table in phrases.items():
            for intent, lines in table.items():
                if intent not in intents and intent != OUT_OF_SCOPE:
                    continue
                for line in lines:
                    texts.append(_prepare(line))
                    labels.append(intent)
                    languages.append(language)
        if SERVICES in intents:  # a service's name alone asks for the services
            for service in profile.services:
                for name in [*service.name.values(), *service.synonyms]:
                    texts.append(_prepare(name))
                    labels.append(SERVICES)
                    languages.append("")
        if len(set(labels)) < 2:
            raise ValueError("at least two intents with phrases are needed")
        self.features = _features()
        matrix = self.features.fit_transform(texts)
        self.intents = LogisticRegression(C=30.0, max_iter=3000)
        self.intents.fit(matrix, labels)
        rows = [i for i, language in enumerate(languages) if language]
        self.language: LogisticRegression | None = None
        if len({languages[i] for i in rows}) > 1:
            self.language = LogisticRegression(C=10.0, max_iter=2000)
            self.language.fit(matrix[rows], [languages[i] for i in rows])
        self.services = ServiceNames(profile)
        self.phrases = {_prepare(t) for t in texts}
        # One message at a time, computed from the fitted attributes (scikit-learn's calls cost ~2 ms each).
        self.vector = Features(self.features)
        self.intent_scores = Classifier(self.intents, self.vector.width)
        self.language_scores = None if self.language is None else Classifier(self.language, self.vector.width)

    def read(self, text: str) -> Reading:
        folded = fold(text)
        prepared = digraph_fold(folded)
        entities = find_entities(text, self.services)
        if not prepared:
            return Reading(prepared, (), entities, None)
        vector = self.vector(prepared)
        probabilities = self.intent_scores.probabilities(vector)
        order = probabilities.argsort()[::-1][:5]
        classes = self.intent_scores.classes
        ranked = tuple((classes[i], float(probabilities[i])) for i in order)
        language = None
        if self.language_scores is not None and len(prepared.split()) >= MIN_LANGUAGE_WORDS:
            shares = self.language_scores.probabilities(vector)
            best = int(shares.argmax())
            if shares[best] >= LANGUAGE_SURE:
                language = self.language_scores.classes[best]
        return Reading(folded, ranked, entities, language, ranked[0][0] if ranked else None)

    @staticmethod
    def step(intent: str, reading: Reading, languages: tuple[str, ...]) -> str | None:
        """The payload of the step a sentence names, for the intents whose flows take one; else None (the intent's
        own start). A flow validates what it is given, as for any button."""
        found = reading.entities
        if intent == SERVICES and found.service:
            on = "" if found.on is None else f":{int(found.on)}"
            if found.account and ACCOUNT_NUMBER in found.account:  # "na liniji 2345678/1": that line, if theirs
                return f"svn:{found.service}{on or ':'}:{found.account}"
            return f"svn:{found.service}{on}"
        if intent == "asusp" and found.days:
            return f"asuspq:{found.days}"
        if intent == "ainv" and found.amount:
            return f"ainvq:{found.amount}"
        if intent == "cstatus" and found.reference:
            return f"cref:{found.reference}"
        if intent == "language" and found.language in languages:
            return f"lang:{found.language}"
        return None


_cache: dict[tuple[str, tuple[str, ...], frozenset[str], str, int], Model] = {}
_lock = threading.Lock()


def model_for(profile: Profile, intents: Iterable[str], directory: Path = LOCALES) -> Model:
    """The fitted model of `profile` over `intents` (those its flows offer), fitted once per process."""
    bases = tuple(sorted({code.split("-")[0] for code in profile.languages}))
    wanted = frozenset(intents)
    catalogue = hash(tuple((s.code, tuple(s.name.items()), tuple(s.synonyms)) for s in profile.services))
    key = (profile.id, bases, wanted, str(directory), catalogue)
    with _lock:
        model = _cache.get(key)
        if model is None:
            model = Model(profile, load_phrases(bases, directory), set(wanted))
            _cache[key] = model
        return model
