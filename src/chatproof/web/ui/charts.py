"""Bar charts as SVG, drawn on the server: no chart library, readable without JavaScript,
with a text alternative for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLOURS = ("#0b5cad", "#1a7f37", "#b35900", "#b3261e", "#6f42c1")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 44, 28, 24


def bar_chart(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float]], unit: str = ""
) -> str:
    """Grouped bars, one group per label, one bar per series."""
    names = list(series)
    peak = max((v for values in series.values() for v in values), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    group = plot_w / max(len(labels), 1)
    bar = max(group * 0.8 / max(len(names), 1), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="14" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" '
        'stroke="#57606a"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" font-size="11" text-anchor="end">'
        f"{_short(peak)}{escape(unit)}</text>",
    ]
    for i, label in enumerate(labels):
        x0 = LEFT + i * group + group * 0.1
        for j, name in enumerate(names):
            value = series[name][i]
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}">'
                f"<title>{escape(label)} · {escape(name)}: {_short(value)}{escape(unit)}</title>"
                "</rect>"
            )
        if len(labels) <= 16 or i % max(len(labels) // 8, 1) == 0:
            parts.append(
                f'<text x="{x0:.1f}" y="{HEIGHT - 10}" font-size="10">{escape(label)}</text>'
            )
    x = LEFT + 220
    for j, name in enumerate(names):
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS[j % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>'
        )
        x += 30 + 6 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _short(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
