"""Reading one message with the fitted model, without scikit-learn's per-call overhead.

scikit-learn is built for matrices: `transform` and `predict_proba` on one short message spend most of their time
validating their input and building sparse matrices (about 2 ms of the step's 2–3 ms). The arithmetic itself is
small — a message has a few dozen n-grams — so it is done here from the fitted attributes: each TF-IDF block's
vocabulary, idf and analyser (scikit-learn's own, so the n-grams are the same), then the logistic regression's
coefficients and intercepts. The result equals scikit-learn's (a test compares them on the evaluation sets).

Only the settings the model uses are implemented; any other is refused when the scorer is built, so changing the
model's settings cannot silently score differently (`Unsupported`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

Vector = tuple[np.ndarray, np.ndarray]  # the non-zero features of one text: their columns and values


class Unsupported(ValueError):
    """A setting of the fitted model that this module does not compute."""


class _Block:
    """One fitted TfidfVectorizer: text → its columns (from `offset`) and L2-normalised TF-IDF values."""

    def __init__(self, vectorizer: TfidfVectorizer, offset: int) -> None:
        if type(vectorizer) is not TfidfVectorizer:
            raise Unsupported(f"{type(vectorizer).__name__}: only TfidfVectorizer is implemented")
        if vectorizer.norm != "l2":
            raise Unsupported(f"norm={vectorizer.norm!r}: only 'l2' is implemented")
        if not vectorizer.use_idf:
            raise Unsupported("use_idf=False is not implemented")
        if vectorizer.binary:
            raise Unsupported("binary=True is not implemented")
        if vectorizer.dtype is not np.float64:
            raise Unsupported(f"dtype={vectorizer.dtype!r}: only float64 is implemented")
        self.analyse: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_  # the fitted ones, shared, not copied
        self.idf: np.ndarray = vectorizer.idf_
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.offset = offset
        self.width = len(vectorizer.vocabulary_)

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The non-zero columns of `text` (from `offset`), ascending, and their values; None when it has none."""
        counts: dict[int, int] = {}
        known = self.vocabulary
        for term in self.analyse(text):
            column = known.get(term)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return None
        columns = np.fromiter(sorted(counts), dtype=np.intp, count=len(counts))
        values = np.fromiter((counts[c] for c in columns.tolist()), dtype=np.float64, count=len(counts))
        if self.sublinear:
            np.log(values, out=values)
            values += 1.0
        values *= self.idf[columns]
        values /= math.sqrt(float(values @ values))
        return columns + self.offset, values


class Features:
    """A fitted FeatureUnion of TfidfVectorizers, for one text at a time: `features(text)` → its non-zero columns
    and values, the row scikit-learn's `transform([text])` gives."""

    def __init__(self, union: FeatureUnion) -> None:
        if type(union) is not FeatureUnion:
            raise Unsupported(f"{type(union).__name__}: only a FeatureUnion is implemented")
        if union.transformer_weights:
            raise Unsupported("transformer_weights are not implemented")
        self.blocks: list[_Block] = []
        offset = 0
        for _name, vectorizer in union.transformer_list:
            if not isinstance(vectorizer, TfidfVectorizer):
                raise Unsupported(f"{vectorizer!r}: only TfidfVectorizer parts are implemented")
            block = _Block(vectorizer, offset)
            self.blocks.append(block)
            offset += block.width
        self.width = offset

    def __call__(self, text: str) -> Vector:
        rows = [row for block in self.blocks if (row := block.row(text)) is not None]
        if not rows:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        if len(rows) == 1:
            return rows[0]
        return np.concatenate([c for c, _ in rows]), np.concatenate([v for _, v in rows])


class Classifier:
    """A fitted LogisticRegression: `probabilities(vector)` → the row scikit-learn's `predict_proba` gives (softmax
    for three classes or more, the logistic function for two), in the order of `classes`."""

    def __init__(self, classifier: LogisticRegression, width: int) -> None:
        if type(classifier) is not LogisticRegression:
            raise Unsupported(f"{type(classifier).__name__}: only LogisticRegression is implemented")
        coef = classifier.coef_
        if not isinstance(coef, np.ndarray):
            raise Unsupported("sparse coefficients (sparsify()) are not implemented")
        multi_class = getattr(classifier, "multi_class", "auto")  # gone from scikit-learn 1.8 on: multinomial
        if multi_class not in ("auto", "multinomial", "deprecated"):
            raise Unsupported(f"multi_class={multi_class!r} is not implemented")
        if coef.shape[1] != width:
            raise Unsupported(f"{coef.shape[1]} coefficients for {width} features")
        self.classes: tuple[str, ...] = tuple(str(c) for c in classifier.classes_)
        if coef.dtype != np.float64:
            raise Unsupported(f"{coef.dtype} coefficients: only float64 is implemented")
        self.weights = coef.T  # a feature's row: its weight per class (a view: the fitted array is not copied)
        self.intercept = np.asarray(classifier.intercept_, dtype=np.float64).copy()
        self.binary = len(self.classes) <= 2

    def probabilities(self, vector: Vector) -> np.ndarray:
        columns, values = vector
        decision = self.intercept.copy()
        if len(columns):
            decision += values @ self.weights[columns]
        if self.binary:
            d = float(decision[0])
            p = 1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d))
            return np.array([1.0 - p, p])
        decision -= decision.max()
        np.exp(decision, out=decision)
        decision /= decision.sum()
        return decision
