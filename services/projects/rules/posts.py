"""Spans of time a member works in a workshop, holds a post or cares for a household (帮扶对子): when one may end,
and when two would meet."""

from __future__ import annotations

from datetime import date


def end_refusal(started_on: date, ended_on: date, *, today: date) -> str | None:
    """Why a span cannot end on `ended_on` (the last day it covers), or None. An end is recorded once it happened:
    a later one would leave the post looking vacant, or the worker gone, while they are still there."""
    if ended_on < started_on:
        return "ends_before_start"
    if ended_on > today:
        return "end_in_future"
    return None


def meets_open_span(ended_on: date | None, *, starting_on: date) -> bool:
    """Whether a span (open, or ended on `ended_on`) shares a day with an open span starting on `starting_on`."""
    return ended_on is None or ended_on >= starting_on


def within(area_code: str, scope: str) -> bool:
    """Whether a household's area lies in a township's or village's (a village code begins with its township's)."""
    return area_code.startswith(scope)
