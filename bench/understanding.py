"""What the understanding step gets right, what it costs per message, and how much memory it adds.

On the evaluation sets (tests/fixtures/understanding/eval_sr.yaml with the rs profile, eval_tk.yaml with tm): the
share routed to the right flow (target >= 0.92), to a wrong flow (target <= 0.02; a clarifying question or "not
understood" is not wrong), straight to the step the message names (target >= 0.75) — and, in the same run, the
same shares for today's keyword match alone (`Keywords.forgiving`), the baseline. Then the time per message (median
and p99, target p99 <= 3 ms) of the step against the keyword match, and the memory the step adds to a process: the
resident set before and after fitting both profiles' models, and tracemalloc's peak while fitting.

    .venv/bin/python bench/understanding.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.engine import offered_intents
from bot.core.i18n import I18n
from bot.core.keywords import Keywords
from bot.core.text import fold
from bot.core.understanding import LOCALES, OUT_OF_SCOPE, Model, load_phrases, model_for
from bot.core.understanding.evaluate import Labelled, load_labelled, score
from bot.profiles import Profile, load_profile
from handlers import build_router

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "understanding"
SETS = (("rs", "eval_sr.yaml"), ("tm", "eval_tk.yaml"))


def rss_mib() -> float:
    """The current resident set (Linux /proc), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def keyword_table(profile: Profile) -> Keywords:
    """Today's table, built as the engine builds it: every intent's keywords in every language."""
    router = build_router()
    i18n = I18n(LOCALES, profile.languages)
    words: list[tuple[str, str]] = []
    for intent in router.intents.values():
        variants = [intent.keywords] + [i18n.get(code).gettext(intent.keywords) for code in i18n.codes]
        words += [(word, intent.name) for variant in variants for word in variant.split("|")]
    return Keywords(words)


KEYWORD_PAYLOADS = {"pin": "apin"}  # a keyword's intent and the label of the same flow in the sets


def keyword_shares(table: Keywords, labelled: list[Labelled]) -> tuple[float, float]:
    right = wrong = 0
    for item in labelled:
        found = table.forgiving(fold(item.text))
        went = KEYWORD_PAYLOADS.get(found, found) if found else None
        expected = tuple(KEYWORD_PAYLOADS.get(i, i) for i in item.intents)
        if item.intents == (OUT_OF_SCOPE,):
            right += went is None
            wrong += went is not None
        else:
            right += went in expected or (went == "apin" and "pin" in item.intents)
            wrong += went is not None and went not in expected and not (went == "apin" and "pin" in item.intents)
    return right / len(labelled), wrong / len(labelled)


def timings(call: object, texts: list[str], repeat: int) -> tuple[float, float]:
    samples: list[float] = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            call(text)  # type: ignore[operator]
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="times each message is read for the timings")
    args = parser.parse_args()

    profiles = {pid: load_profile(pid) for pid, _ in SETS}
    router = build_router()
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    models: dict[str, Model] = {pid: model_for(p, offered_intents(router, p)) for pid, p in profiles.items()}
    fitted = time.perf_counter() - started
    gc.collect()
    after = rss_mib()
    tracemalloc.start()  # a third fit, traced (slower): what the models and their fitting allocate in Python
    Model(profiles["rs"], load_phrases(("sr", "tk")), offered_intents(router, profiles["rs"]))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"fitting both profiles' models: {fitted:.2f} s")
    for pid, file in SETS:
        profile, model = profiles[pid], models[pid]
        labelled = load_labelled(FIXTURES / file)
        result = score(model, labelled, tuple(profile.languages))
        k_right, k_wrong = keyword_shares(keyword_table(profile), labelled)
        texts = [item.text for item in labelled]
        table = keyword_table(profile)
        step_median, step_p99 = timings(model.read, texts, args.repeat)
        key_median, key_p99 = timings(lambda text, t=table: t.forgiving(fold(text)), texts, args.repeat)
        print(f"\n{file} ({len(labelled)} messages, profile {pid})")
        print(
            f"  routed right:                {result.right_share:.3f}  (target >= 0.92; keywords today: {k_right:.3f})"
        )
        print(
            f"  routed wrong:                {result.wrong_share:.3f}  (target <= 0.02; keywords today: {k_wrong:.3f})"
        )
        print(f"  straight to the named step:  {result.straight_share:.3f}  (target >= 0.75; {result.with_step} "
              f"messages name one; keywords today: 0.000)")  # fmt: skip
        print(f"  time per message, median:    {step_median:.3f} ms  (keywords: {key_median:.4f} ms)")
        print(f"  time per message, p99:       {step_p99:.3f} ms  (target <= 3 ms; keywords: {key_p99:.4f} ms; "
              f"ratio {step_p99 / key_p99:.0f}x)")  # fmt: skip
    print(f"\nmemory: resident set {before:.1f} → {after:.1f} MiB (+{after - before:.1f} MiB with both models, "
          f"target <= 50 MiB); tracemalloc peak while fitting one model {peak / 2**20:.1f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
