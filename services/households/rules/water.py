"""Drinking-water safety's rule (安全饮水): a check is safe when it found no problem."""

from __future__ import annotations

from collections.abc import Sequence

from services.households.rules.vocabulary import WaterProblem


def problem_codes(problems: Sequence[WaterProblem]) -> list[str]:
    """Distinct problem codes in a stable order (the check is safe when there are none)."""
    return sorted({WaterProblem(p).value for p in problems})
