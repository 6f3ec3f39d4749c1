"""How the dashboard and the report write the figures of ``analyse_study``: one formatter per kind
of number, registered as Jinja2 filters in both (``FILTERS``), so that the two always show the
same text for the same value.

Plain Python only (no numpy), so that the web app can import it at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

DASH = "\u2013"  # an en dash: an empty cell
INFINITY = "\u221e"
USD_DIGITS = 4
"""Significant digits of an amount in US dollars."""


def usd_amount(value: float | None) -> str:
    """An amount in US dollars to ``USD_DIGITS`` significant digits, never in exponent notation
    and with the trailing zeros that show the precision: 0.15 -> "0.1500", 2 -> "2.000",
    0.0000123456 -> "0.00001235", 1234.56 -> "1235", 12345.6 -> "12346" (whole dollars are never
    rounded away); None -> an en dash."""
    if value is None or math.isnan(value):
        return DASH
    if value == 0:
        return f"{0:.{USD_DIGITS - 1}f}"
    rounded = float(f"{value:.{USD_DIGITS}g}")  # the magnitude after rounding: 0.99996 -> 1
    decimals = max(0, USD_DIGITS - 1 - math.floor(math.log10(abs(rounded))))
    return f"{value:.{decimals}f}"


def usd(value: float | None) -> str:
    """``usd_amount`` followed by " USD" (an en dash alone for None)."""
    amount = usd_amount(value)
    return amount if amount == DASH else f"{amount} USD"


def interval(
    low: float | None, high: float | None, fmt: str = "%.2f", note: str | None = None
) -> str:
    """ "low to high" of an interval of a bounded quantity (a rating mean, a pass rate, rho); its
    note ("n too small (n=2 < 5)") when it was not computed."""
    if low is None or high is None:
        return note or DASH
    return f"{fmt % low} to {fmt % high}"


def board_interval(row: Mapping[str, Any], fmt: str = "%.0f") -> str:
    """A leaderboard row's interval; an end the votes leave open is written as an infinity
    ("983 to ∞", "-∞ to 1079", "-∞ to ∞")."""
    low, high = row.get("ci_low"), row.get("ci_high")
    left = f"-{INFINITY}" if low is None else fmt % low
    right = INFINITY if high is None else fmt % high
    return f"{left} to {right}"


def board_rating(row: Mapping[str, Any], fmt: str = "%.0f") -> str:
    """A leaderboard row's rating. Where the interval is open on one side the maximum-likelihood
    rating is infinite that way ("∞", "-∞"; the JSON's number is set by the ridge penalty and
    only orders the rows); open on both sides, it has no estimate (an en dash)."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is None and high is None:
        return DASH
    if high is None:
        return INFINITY
    if low is None:
        return f"-{INFINITY}"
    return fmt % float(row["rating"])


def chart_span(rows: Iterable[Mapping[str, Any]]) -> tuple[float, float]:
    """The range of ratings a leaderboard chart shows: the finite interval ends and the ratings
    of rows bounded on both sides (a penalty-driven rating must not stretch the axis), widened
    so that an interval open on one side, drawn from its finite end to the edge, is never
    shorter than the widest bounded interval; (800, 1200) when nothing is finite."""
    rows = list(rows)
    bounded = [r for r in rows if r["ci_low"] is not None and r["ci_high"] is not None]
    values = [float(v) for r in rows for v in (r["ci_low"], r["ci_high"]) if v is not None]
    values += [float(r["rating"]) for r in bounded]
    if not values:
        return 800.0, 1200.0
    widest = max((float(r["ci_high"]) - float(r["ci_low"]) for r in bounded), default=200.0)
    low, high = min(values), max(values)
    for r in rows:
        if r["ci_high"] is None and r["ci_low"] is not None:
            high = max(high, float(r["ci_low"]) + widest)
        if r["ci_low"] is None and r["ci_high"] is not None:
            low = min(low, float(r["ci_high"]) - widest)
    return low, high


def warning_sentences(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every warning of a leaderboard's rows, each sentence once, in row order (a sentence about
    a whole group is on each of its rows)."""
    return list(dict.fromkeys(w for r in rows for w in r.get("warnings") or ()))


FILTERS: dict[str, Callable[..., Any]] = {
    "usd": usd,
    "usd_amount": usd_amount,
    "board_interval": board_interval,
    "board_rating": board_rating,
    "interval": interval,
    "warning_sentences": warning_sentences,
}
"""The Jinja2 filters of the dashboard's and the report's templates."""
