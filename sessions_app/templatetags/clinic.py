"""Template filters of the clinic's pages."""

import datetime as dt

from django import template
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def iso(value: str | None, fmt: str = "d/m/Y H:i") -> str:
    """An ISO 8601 date or datetime string (as the JSON export holds them),
    formatted like the |date filter."""
    if not value:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return date_format(parsed, fmt)
