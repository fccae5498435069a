"""A small terminal price chart: log scale, one column per time bucket, with marked days under it."""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Sequence

_LEVELS = " ▁▂▃▄▅▆▇█"


def _column(times: Sequence[int], when: int, step: float, width: int) -> int:
    """The column whose bucket holds `when` (the bucket of the last close at or before it)."""
    index = max(0, bisect_right(times, when) - 1)
    return min(width - 1, int(index / step))


def render(
    times: Sequence[int],
    closes: Sequence[float],
    *,
    width: int = 60,
    height: int = 8,
    marks: Sequence[tuple[str, str, int]] = (),
) -> str:
    """Closes resampled to `width` columns (last close of each bucket), drawn `height` rows tall.

    `marks` are (letter, label, unix seconds): each letter is put under its
    day's column, and a legend line names them with their dates.
    """
    if len(closes) < 2:
        return ""
    width = min(width, len(closes))
    step = len(closes) / width
    sampled = [closes[min(len(closes) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    logs = [math.log10(c) for c in sampled]
    low, high = min(logs), max(logs)
    span = (high - low) or 1.0
    eighths = [round((v - low) / span * (height * 8 - 1)) + 1 for v in logs]
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        rows.append("".join(_LEVELS[max(0, min(8, e - base))] for e in eighths))
    top, bottom = f"${10**high:,.2f}", f"${10**low:,.2f}"
    first = time.strftime("%Y-%m", time.gmtime(times[0]))
    last = time.strftime("%Y-%m", time.gmtime(times[-1]))
    pad = max(1, width - len(first) - len(last))
    axis = f"{first}{' ' * pad}{last}"
    rows[0] += f" {top}"
    rows[-1] += f" {bottom}"
    if not marks:
        return "\n".join([*rows, axis])
    under = [" "] * width
    for letter, _, when in marks:
        under[_column(times, when, step, width)] = letter
    legend = "   ".join(
        f"{letter} {label} {time.strftime('%Y-%m-%d', time.gmtime(when))}" for letter, label, when in marks
    )
    return "\n".join([*rows, "".join(under).rstrip(), axis, legend])
