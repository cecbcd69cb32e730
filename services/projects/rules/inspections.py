"""What one inspection may report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def repeated_codes(codes: Iterable[str]) -> list[str]:
    """Problem codes reported more than once in one inspection, in sorted order."""
    return sorted(code for code, count in Counter(codes).items() if count > 1)
