"""Small helpers for computing statistics about plain-text notes.

This module is a personal utility written in Python. It counts words,
estimates reading time and finds the most frequent terms in a note, so
that long documents can be summarised at a glance before opening them.
"""

from __future__ import annotations

import re
from collections import Counter

WORD_RE = re.compile(r"[A-Za-z']+")

#: Average adult silent reading speed, in words per minute.
READING_SPEED_WPM = 238


def tokenize(text: str) -> list[str]:
    """Split text into lowercase word tokens.

    Apostrophes inside words are kept, so "don't" stays one token.
    Digits and punctuation are discarded.
    """
    return [match.group(0).lower() for match in WORD_RE.finditer(text)]


def word_count(text: str) -> int:
    """Return the number of word tokens in ``text``."""
    return len(tokenize(text))


def reading_time_minutes(text: str, wpm: int = READING_SPEED_WPM) -> float:
    """Estimate how many minutes an average reader needs for ``text``.

    The estimate divides the word count by ``wpm`` and never returns less
    than a tenth of a minute, so empty notes still show a small value.
    """
    if wpm <= 0:
        raise ValueError("wpm must be positive")
    return max(0.1, word_count(text) / wpm)


def top_terms(text: str, n: int = 5, min_length: int = 4) -> list[tuple[str, int]]:
    """Return the ``n`` most common words that are at least ``min_length`` long.

    Short words are skipped because they are mostly function words such as
    articles and prepositions, which say little about the topic of a note.
    Ties are broken by first appearance in the text.
    """
    counts = Counter(tok for tok in tokenize(text) if len(tok) >= min_length)
    return counts.most_common(n)


def summarize(text: str) -> dict[str, object]:
    """Bundle the statistics above into a single dictionary for display."""
    return {
        "words": word_count(text),
        "minutes": round(reading_time_minutes(text), 1),
        "top_terms": top_terms(text),
    }


if __name__ == "__main__":
    import sys

    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            print(path, summarize(handle.read()))
