"""Bar charts as SVG, drawn on the server for the console's reports: no script, no CDN, no
inline style (colours and sizes are SVG presentation attributes, which the pages'
Content-Security-Policy allows). Each chart is a picture of a table shown beside it, so a
screen reader reads the table; the chart names itself and each bar has its value as a title.

Values carry the report's units: ``seconds`` are drawn in the unit that suits the largest
(seconds, minutes, hours or days), ``ratio`` as a percentage of 100, ``count`` as is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

#: the colours of the series, in order (readable on white, told apart without colour by the
#: legend's order and each bar's title)
COLOURS = ("#2457a6", "#c25e12", "#5b6b7f", "#2f855a")
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 34, 64


def duration_unit(largest: float) -> tuple[str, float]:
    """The unit to show durations in (name, seconds in one) for a largest value."""
    for name, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if largest >= 2 * size:
            return name, size
    return "s", 1.0


def show(value: Any, unit: str) -> str:
    """A report's value as people read it in a table."""
    if value is None:
        return "\u2013"  # an en dash: no figure
    if unit == "ratio":
        return f"{float(value) * 100:.1f} %"
    if unit == "seconds":
        name, size = duration_unit(abs(float(value)))
        return f"{float(value) / size:.1f} {name}"
    if unit == "count" and isinstance(value, int | float):
        return f"{int(value):,}"
    return str(value)


def _nice(top: float) -> float:
    """A round number at or above ``top`` for the axis's end."""
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= top:
            return step * power
    return 10 * power


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Any]]],
    unit: str,
) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series (name, values)."""
    values = [float(v) for _, vs in series for v in vs if v is not None]
    if unit == "ratio":
        scale, axis_unit, top = 100.0, "%", 100.0
    elif unit == "seconds":
        axis_unit, size = duration_unit(max(values, default=0.0))
        scale = 1 / size
        top = _nice(max(values, default=0.0) * scale)
    else:  # counts: whole numbers at each of the four steps
        scale, axis_unit = 1.0, ""
        top = 4 * max(1, math.ceil(_nice(max(values, default=0.0) / 4)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(1.0, (group_w * 0.8) / max(len(series), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" '
        'font-size="12">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):  # the axis: five lines from 0 to the top
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#8a94a3" if i == 0 else "#e2e6ec"}"/>'
        )
        text = f"{value:g}{(' ' + axis_unit) if axis_unit else ''}"
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4a5568">'
            f"{escape(text)}</text>"
        )
    every = max(1, math.ceil(len(labels) / 24))
    slanted = len(labels) > 8
    for g, label in enumerate(labels):
        x0 = LEFT + g * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series):
            value = vs[g]
            if value is None:
                continue
            h = min(plot_h, plot_h * float(value) * scale / top) if top else 0
            x = x0 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w * 0.92:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}"><title>'
                f"{escape(label)}, {escape(name)}: {escape(show(value, unit))}</title></rect>"
            )
        if g % every == 0:
            cx = LEFT + g * group_w + group_w / 2
            short = label if len(label) <= 22 else label[:21] + "…"
            if slanted:
                parts.append(
                    f'<text x="{cx:.1f}" y="{TOP + plot_h + 14}" text-anchor="end" '
                    f'transform="rotate(-35 {cx:.1f} {TOP + plot_h + 14})" fill="#2d3748">'
                    f"{escape(short)}</text>"
                )
            else:
                parts.append(
                    f'<text x="{cx:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                    f'fill="#2d3748">{escape(short)}</text>'
                )
    x = LEFT
    for s, (name, _) in enumerate(series):  # the legend, across the top
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>'
        )
        parts.append(f'<text x="{x + 16}" y="18" fill="#2d3748">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    if not labels:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
            'fill="#4a5568">Nothing in this range</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
