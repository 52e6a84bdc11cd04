"""Charts of the console, drawn by pygal as inline SVG (no script of its own is loaded: the page's CSP allows none).

Every value is in the SVG as pygal writes it (`<desc class="value">…</desc>`), which the browser tests read."""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(background="transparent", plot_background="#ffffff", font_family="sans-serif",
              colors=("#1f6feb", "#d1242f", "#2da44e", "#bf8700", "#8250df", "#57606a", "#0a7b83", "#cf222e"),
              title_font_size=16, label_font_size=11, major_label_font_size=11, legend_font_size=12)  # fmt: skip
Series = Sequence[tuple[str, Sequence[float | int | None]]]


def _config(chart: pygal.graph.graph.Graph, name: str, title: str) -> None:
    chart.config.js = []
    chart.config.disable_xml_declaration = True
    chart.title = title


def _svg(chart: pygal.graph.graph.Graph, name: str) -> Markup:
    svg: str = chart.render(is_unicode=True)
    return Markup(f'<figure class="chart" data-chart="{name}">{svg}</figure>')  # noqa: S704 - pygal's own escaped SVG


def bars(name: str, title: str, labels: Sequence[str], series: Series, *, stacked: bool = False,
         horizontal: bool = False) -> Markup:  # fmt: skip
    kind = pygal.StackedBar if stacked else pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(style=STYLE, width=900, height=360 if not horizontal else max(240, 28 * len(labels) + 120),
                 x_label_rotation=0 if horizontal else 45, show_minor_x_labels=len(labels) <= 31,
                 print_values=False, legend_at_bottom=True, truncate_label=40, no_data_text="–")  # fmt: skip
    _config(chart, name, title)
    chart.x_labels = list(labels)
    for label, values in series:
        chart.add(label, list(values))
    return _svg(chart, name)


def pie(name: str, title: str, parts: Sequence[tuple[str, int]]) -> Markup:
    chart = pygal.Pie(style=STYLE, width=500, height=320, inner_radius=0.45, legend_at_bottom=True,
                      no_data_text="–")  # fmt: skip
    _config(chart, name, title)
    for label, value in parts:
        chart.add(label, value)
    return _svg(chart, name)
