"""Edit-distance metrics shared by the tasks that output symbol sequences."""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(hypothesis: Sequence, reference: Sequence) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions that turn
    `hypothesis` into `reference` (strings or sequences of symbols).

    Example:
    >>> edit_distance("kitten", "sitting")
    3
    """
    previous = list(range(len(reference) + 1))
    for row, symbol in enumerate(hypothesis, start=1):
        current = [row]
        for column, other in enumerate(reference, start=1):
            current.append(
                min(previous[column] + 1, current[-1] + 1, previous[column - 1] + (symbol != other))
            )
        previous = current
    return previous[-1]


def error_rate(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Corpus error rate: total edit distance over total reference length (the character
    error rate for strings, the digit error rate for digit sequences)."""
    total = sum(len(reference) for reference in references)
    errors = sum(
        edit_distance(hypothesis, reference)
        for hypothesis, reference in zip(hypotheses, references, strict=True)
    )
    return errors / total if total else float(errors > 0)
