"""A small terminal price chart: log scale, one column per time bucket."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

_LEVELS = " ▁▂▃▄▅▆▇█"


def render(times: Sequence[int], closes: Sequence[float], *, width: int = 60, height: int = 8) -> str:
    """Closes resampled to `width` columns (last close of each bucket), drawn `height` rows tall."""
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
    return "\n".join([*rows, axis])
