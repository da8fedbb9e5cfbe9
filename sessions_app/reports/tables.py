"""A report's table, the chart drawn from it and its CSV: plain values, so
the page, the chart and the download show the same figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from sessions_app.badges import esc


@dataclass
class Dataset:
    label: str
    data: list[int | float | None]
    # "count" (left axis) or "percent" (right axis, 0 to 100).
    axis: str = "count"
    # "bar" or "line"; a chart may mix them.
    kind: str = "bar"


@dataclass
class Chart:
    """What Chart.js draws (static/js/reports.js): labels along the bottom,
    one series per dataset."""

    labels: list[str]
    datasets: list[Dataset]
    count_title: str = ""
    percent_title: str = ""
    stacked: bool = False
    # Bars along the side: for long labels (practitioners, rules).
    horizontal: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "datasets": [{"label": d.label, "data": d.data, "axis": d.axis, "kind": d.kind} for d in self.datasets],
            "countTitle": self.count_title,
            "percentTitle": self.percent_title,
            "stacked": self.stacked,
            "horizontal": self.horizontal,
        }


@dataclass
class Table:
    """One table of a report: its rows as plain values, an optional total
    row, and the chart that draws it. `slug` names its CSV."""

    slug: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    total: list[Any] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        """The column names as the page and the CSV show them."""
        return [name[:1].upper() + name[1:] for name in self.columns]

    def text_rows(self) -> list[list[str]]:
        """Every row as the page shows it and the CSV writes it, the total last."""
        rows = [*self.rows, *([self.total] if self.total else [])]
        return [[cell_text(value) for value in row] for row in rows]

    def csv_rows(self) -> list[list[Any]]:
        """text_rows for a CSV file: the same text, numbers written as numbers
        (so that "-2.0", a median, is not taken for a formula and quoted)."""
        rows = [*self.rows, *([self.total] if self.total else [])]
        return [[csv_cell(value) for value in row] for row in rows]

    @property
    def body_html(self) -> SafeString:
        """The rows as the page's table writes them, each one's first cell
        its heading. Written in Python, not the template: the utilisation
        tables of a chain are 160 rows of 16 cells, which the template took
        60 ms to write."""
        return mark_safe("".join(_row_html(row, '<th scope="row" class="fw-normal text-break">') for row in self.rows))

    @property
    def total_html(self) -> SafeString:
        """The total row, or nothing."""
        return mark_safe(_row_html(self.total, '<th scope="row">', ' class="fw-semibold"') if self.total else "")


def _row_html(row: list[Any], heading: str, attrs: str = "") -> str:
    first, *figures = (esc(cell_text(value)) for value in row)
    cells = "".join(f'<td class="text-end">{figure}</td>' for figure in figures)
    return f"<tr{attrs}>{heading}{first}</th>{cells}</tr>"


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers as they are, other numbers to one decimal,
    nothing for a figure that does not exist (a rate of no sessions)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        return f"{value:.1f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def csv_cell(value: Any) -> Any:
    """A cell as the CSV writes it: cell_text, a number kept a number."""
    text = cell_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return text
    return int(text) if isinstance(value, int) else Decimal(text)
